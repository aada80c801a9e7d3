// Package hubtest serves a folder as one repository of a Hugging Face
// compatible hub on loopback, for tests of the model manager and the
// window's first-run download: the model-info API with file sizes and
// sha256 (GET /api/models/{repo}/revision/{rev}) and the files with
// ranges (GET /{repo}/resolve/{rev}/{file}).
package hubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Commit is the commit id the fake hub reports.
const Commit = "0123456789abcdef0123456789abcdef01234567"

// Hub is a running fake hub.
type Hub struct {
	*httptest.Server
	// Bytes counts the file bytes served.
	Bytes atomic.Int64
}

// Serve serves every regular file under dir as repository repo and stops
// the server when the test ends.
func Serve(t testing.TB, repo, dir string) *Hub {
	t.Helper()
	type lfs struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		Size      int64  `json:"size"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	var siblings []sibling
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(data)
		siblings = append(siblings, sibling{RFilename: filepath.ToSlash(rel), Size: int64(len(data)),
			LFS: &lfs{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	listing, err := json.Marshal(map[string]any{"id": repo, "sha": Commit, "siblings": siblings})
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/models/"+repo+"/revision/") {
			http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(listing)
	})
	prefix := "/" + repo + "/resolve/"
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, name, _ := strings.Cut(rest, "/")
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(countingWriter{w, &h.Bytes}, r, name, fi.ModTime(), f)
	})
	h.Server = httptest.NewServer(mux)
	t.Cleanup(h.Close)
	return h
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}
