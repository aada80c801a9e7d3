package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file is a stand-in for the Hugging Face hub on loopback: the model
// API with ?blobs=true, file URLs that serve git files directly and
// redirect LFS files to a second server (the "CDN", another host:port),
// and single-range requests, with hooks to cut connections, corrupt or
// hide files, and a log of every request and of the bytes served.

// fakeFile is one file of a fake repository.
type fakeFile struct {
	name string
	data []byte
	lfs  bool // listed with lfs.sha256 and served through the CDN
	// noBlobID leaves the git blob id out of the listing (size-only check).
	noBlobID bool
}

// fakeRequest is one request the fake servers saw.
type fakeRequest struct {
	server string // "api", "resolve" or "cdn"
	file   string
	rng    string // the Range header
	auth   string // the Authorization header
	start  int64  // parsed range start (-1 without a range)
}

type fakeHub struct {
	t      *testing.T
	repo   string
	commit string
	files  []fakeFile
	api    *httptest.Server
	cdn    *httptest.Server

	mu       sync.Mutex
	served   map[string]int64 // bytes of file bodies written, by file
	requests []fakeRequest
	// run is the current "process": resetCounters starts a new one, and
	// requests stamped with an earlier run (sent before the reset, served
	// after it) are answered but neither logged nor counted.
	run atomic.Int64

	// Hooks, set before the download starts.
	// corrupt serves these bytes instead of a file's (same length).
	corrupt map[string][]byte
	// missing answers 404 for these files' URLs.
	missing map[string]bool
	// cutAfter cuts the connection of a file's first range request after
	// this many body bytes.
	cutAfter map[string]int64
	cutDone  map[string]bool
	// beforeRange runs before a range of a file is served; returning false
	// serves nothing (the hook answered or aborted).
	beforeRange func(w http.ResponseWriter, r *http.Request, file string, start int64) bool
	// noRange ignores Range headers (a server without range support).
	noRange bool
}

const fakeCommit = "0123456789abcdef0123456789abcdef01234567"

// pattern is deterministic content whose period (251) does not divide the
// chunk sizes, so a byte written at the wrong offset shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*31+int(seed))%251) ^ seed
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// standardFiles is a small checkpoint folder: a config, an index, two LFS
// shards of odd sizes, a file without a blob id and an empty one.
func standardFiles() []fakeFile {
	return []fakeFile{
		{name: "config.json", data: []byte(`{"model_type":"neo_chat"}`)},
		{name: "model.safetensors.index.json", data: []byte(`{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`)},
		{name: "model-00001-of-00002.safetensors", data: pattern(300_001, 1), lfs: true},
		{name: "model-00002-of-00002.safetensors", data: pattern(123_457, 2), lfs: true},
		{name: "tokenizer/vocab.txt", data: []byte("a\nb\nc\n"), noBlobID: true},
		{name: "added/empty.json", data: []byte{}},
	}
}

func newFakeHub(t *testing.T, repo string, files []fakeFile) *fakeHub {
	t.Helper()
	h := &fakeHub{t: t, repo: repo, commit: fakeCommit, files: files,
		served: map[string]int64{}, corrupt: map[string][]byte{}, missing: map[string]bool{},
		cutAfter: map[string]int64{}, cutDone: map[string]bool{}}
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.cdn.Close)
	h.api = httptest.NewServer(http.HandlerFunc(h.serveAPI))
	t.Cleanup(h.api.Close)
	return h
}

func (h *fakeHub) file(name string) (fakeFile, bool) {
	for _, f := range h.files {
		if f.name == name {
			return f, true
		}
	}
	return fakeFile{}, false
}

func (h *fakeHub) log(r *http.Request, fr fakeRequest) {
	if h.stale(r) {
		return
	}
	h.mu.Lock()
	h.requests = append(h.requests, fr)
	h.mu.Unlock()
}

// servedBytes is the body bytes written for a file ("" for all files).
func (h *fakeHub) servedBytes(file string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if file != "" {
		return h.served[file]
	}
	var n int64
	for _, v := range h.served {
		n += v
	}
	return n
}

func (h *fakeHub) requestsFor(server, file string) []fakeRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []fakeRequest
	for _, r := range h.requests {
		if r.server == server && (file == "" || r.file == file) {
			out = append(out, r)
		}
	}
	return out
}

// runHeader carries the fake hub's run a request was sent in.
const runHeader = "X-Fake-Hub-Run"

// stale reports whether r was sent before the last resetCounters: a
// cancelled download does not wait for the server, so its last requests
// can reach the handlers after the reset.
func (h *fakeHub) stale(r *http.Request) bool {
	v := r.Header.Get(runHeader)
	return v != "" && v != strconv.FormatInt(h.run.Load(), 10)
}

// runStamp stamps each request with the hub's current run.
type runStamp struct {
	h    *fakeHub
	next http.RoundTripper
}

func (s runStamp) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(runHeader, strconv.FormatInt(s.h.run.Load(), 10))
	return s.next.RoundTrip(r)
}

// resetCounters forgets the requests and bytes served (a "new process").
func (h *fakeHub) resetCounters() {
	h.run.Add(1)
	h.mu.Lock()
	h.served = map[string]int64{}
	h.requests = nil
	h.mu.Unlock()
}

func (h *fakeHub) listing() map[string]any {
	var sibs []map[string]any
	for _, f := range h.files {
		s := map[string]any{"rfilename": f.name, "size": len(f.data)}
		if !f.noBlobID {
			s["blobId"] = gitBlobID(f.data)
		}
		if f.lfs {
			s["blobId"] = gitBlobID([]byte("pointer of " + f.name))
			s["size"] = len(f.data)
			s["lfs"] = map[string]any{"sha256": sha256Hex(f.data), "size": len(f.data), "pointerSize": 134}
		}
		sibs = append(sibs, s)
	}
	return map[string]any{"id": h.repo, "sha": h.commit, "siblings": sibs}
}

func (h *fakeHub) serveAPI(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/"); ok {
		h.log(r, fakeRequest{server: "api", auth: auth, start: -1})
		repo, rev, ok := strings.Cut(rest, "/revision/")
		switch {
		case !ok || repo != h.repo:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusUnauthorized)
			return
		case rev != "main" && rev != h.commit:
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			http.Error(w, "Invalid rev id: "+rev, http.StatusNotFound)
			return
		case r.URL.Query().Get("blobs") != "true":
			http.Error(w, "the test hub wants ?blobs=true", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(h.listing())
		return
	}
	prefix := "/" + h.repo + "/resolve/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	rev, name, _ := strings.Cut(rest, "/")
	f, found := h.file(name)
	h.log(r, fakeRequest{server: "resolve", file: name, rng: r.Header.Get("Range"), auth: auth, start: rangeStart(r)})
	if rev != h.commit || !found || h.missing[name] {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	if f.lfs {
		// Like the hub: LFS files live on another host, behind a redirect.
		http.Redirect(w, r, h.cdn.URL+"/blobs/"+sha256Hex(f.data)+"?sig=abc", http.StatusFound)
		return
	}
	h.serveRange(w, r, f)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	sha, _ := strings.CutPrefix(r.URL.Path, "/blobs/")
	for _, f := range h.files {
		if f.lfs && sha256Hex(f.data) == sha {
			h.log(r, fakeRequest{server: "cdn", file: f.name, rng: r.Header.Get("Range"), auth: r.Header.Get("Authorization"), start: rangeStart(r)})
			h.serveRange(w, r, f)
			return
		}
	}
	http.NotFound(w, r)
}

func rangeStart(r *http.Request) int64 {
	a, _, ok := parseRange(r.Header.Get("Range"), 1<<62)
	if !ok {
		return -1
	}
	return a
}

// parseRange parses "bytes=A-B" or "bytes=A-" against a size; B is
// inclusive.
func parseRange(s string, size int64) (int64, int64, bool) {
	rest, ok := strings.CutPrefix(s, "bytes=")
	if !ok || strings.Contains(rest, ",") {
		return 0, 0, false
	}
	as, bs, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	a, err := strconv.ParseInt(as, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	b := size - 1
	if bs != "" {
		if b, err = strconv.ParseInt(bs, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return a, min(b, size-1), a <= b
}

func (h *fakeHub) serveRange(w http.ResponseWriter, r *http.Request, f fakeFile) {
	data := f.data
	if c, ok := h.corrupt[f.name]; ok {
		data = c
	}
	size := int64(len(data))
	a, b, ok := parseRange(r.Header.Get("Range"), size)
	if r.Header.Get("Range") != "" && !h.noRange && (!ok || a >= size) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	if h.beforeRange != nil && !h.beforeRange(w, r, f.name, a) {
		return
	}
	w.Header().Set("ETag", `"`+sha256Hex(f.data)[:16]+`"`)
	body := data
	if ok && !h.noRange {
		body = data[a : b+1]
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
	}
	h.mu.Lock()
	cut, doCut := h.cutAfter[f.name]
	doCut = doCut && !h.cutDone[f.name] && cut < int64(len(body))
	if doCut {
		h.cutDone[f.name] = true
		body = body[:cut]
	}
	h.mu.Unlock()
	n, _ := w.Write(body)
	if !h.stale(r) {
		h.mu.Lock()
		h.served[f.name] += int64(n)
		h.mu.Unlock()
	}
	if doCut {
		// Send what was written, then drop the connection mid-body.
		rc := http.NewResponseController(w)
		rc.Flush()
		if conn, _, err := rc.Hijack(); err == nil {
			conn.Close()
		}
	}
}

// newTestDownloader is a Downloader for h with small chunks and no waits
// between retries.
func newTestDownloader(t *testing.T, h *fakeHub, cfg Config) *Downloader {
	t.Helper()
	if cfg.Endpoint == "" {
		cfg.Endpoint = h.api.URL
	}
	c, err := NewClient(cfg, &http.Client{Transport: runStamp{h: h, next: downloadTransport()}})
	if err != nil {
		t.Fatal(err)
	}
	return &Downloader{
		Client: c, Jobs: 2, Connections: 3, ChunkSize: 64 << 10,
		retryDelay: func(int) time.Duration { return 0 },
		freeSpace:  func(string) (int64, error) { return 1 << 40, nil },
	}
}

// checkFolder fails unless dir holds exactly the hub's files.
func checkFolder(t *testing.T, h *fakeHub, dir string) {
	t.Helper()
	for _, f := range h.files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.name)))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if string(got) != string(f.data) {
			t.Errorf("%s: content differs from the hub's (%d bytes, want %d)", f.name, len(got), len(f.data))
		}
	}
}

func download(ctx context.Context, d *Downloader, h *fakeHub, dest string) (Result, error) {
	return d.Download(ctx, h.repo, "main", dest)
}
