package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sensenova/studio/inference/hub"
)

// miniHub imitates the Hugging Face API and file URLs for one repository
// on loopback; file bodies go through http.ServeContent, which answers
// Range requests.
type miniHub struct {
	srv    *httptest.Server
	repo   string
	files  map[string][]byte
	lfs    map[string]bool
	served atomic.Int64
}

const miniCommit = "fedcba9876543210fedcba9876543210fedcba98"

func newMiniHub(t *testing.T, repo string, files map[string][]byte, lfs map[string]bool) *miniHub {
	t.Helper()
	h := &miniHub{repo: repo, files: files, lfs: lfs}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *miniHub) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/"); ok {
		if !strings.HasPrefix(rest, h.repo+"/revision/") {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusUnauthorized)
			return
		}
		var sibs []map[string]any
		for name, data := range h.files {
			s := map[string]any{"rfilename": name, "size": len(data)}
			if h.lfs[name] {
				sum := sha256.Sum256(data)
				s["lfs"] = map[string]any{"sha256": hex.EncodeToString(sum[:]), "size": len(data)}
			}
			sibs = append(sibs, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": h.repo, "sha": miniCommit, "siblings": sibs})
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/"+h.repo+"/resolve/"+miniCommit+"/")
	data, found := h.files[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	cw := &countingWriter{ResponseWriter: w, n: &h.served}
	http.ServeContent(cw, r, name, time.Time{}, bytes.NewReader(data))
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// isolateHubEnv keeps the user's Hugging Face settings and cache out of a
// test.
func isolateHubEnv(t *testing.T) {
	for _, k := range []string{"HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HOME", "HUGGINGFACE_HUB_CACHE"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HUB_CACHE", t.TempDir())
}

func TestDownloadList(t *testing.T) {
	code, out, errOut := run(t, "", "download", "--list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, m := range hub.Catalogue() {
		if !strings.Contains(out, m.Name) || !strings.Contains(out, m.Repo) {
			t.Errorf("--list lacks %s (%s):\n%s", m.Name, m.Repo, out)
		}
	}
	if !strings.Contains(out, "U1.5 (pixel head)") || !strings.Contains(out, "~35.0 GB") {
		t.Errorf("--list lacks the layout or size:\n%s", out)
	}

	code, out, errOut = run(t, "", "download", "--list", "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var got []hub.Model
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--list --json is not JSON: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, hub.Catalogue()) {
		t.Errorf("--list --json: %+v, want the catalogue", got)
	}
}

// The command end to end: a catalogue name resolves to its repository, the
// files land in --output_dir, the path is the only thing on stdout, and a
// second run finds the folder complete without fetching.
func TestDownloadEndToEnd(t *testing.T) {
	isolateHubEnv(t)
	weights := make([]byte, 300_000)
	for i := range weights {
		weights[i] = byte(i * 7)
	}
	files := map[string][]byte{"config.json": []byte(`{"x":1}`), "model.safetensors": weights}
	h := newMiniHub(t, "sensenova/SenseNova-U1-8B-MoT", files, map[string]bool{"model.safetensors": true})
	dest := filepath.Join(t.TempDir(), "U1")

	code, out, errOut := run(t, "", "download", "--model", "SenseNova-U1-8B-MoT", "--output_dir", dest, "--endpoint", h.srv.URL, "--jobs", "2")
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut)
	}
	if out != dest+"\n" {
		t.Errorf("stdout %q, want the folder path alone", out)
	}
	for _, want := range []string{"listing sensenova/SenseNova-U1-8B-MoT@main", "2 files", "model.safetensors (", "100.0%", "done: 2 files"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, %v; want the hub's %d bytes", name, len(got), err, len(data))
		}
	}
	if n := h.served.Load(); n != int64(len(weights)+7) {
		t.Errorf("%d bytes served, want %d", n, len(weights)+7)
	}

	h.served.Store(0)
	code, out, errOut = run(t, "", "download", "--model", "sensenova/SenseNova-U1-8B-MoT", "--output_dir", dest, "--endpoint", h.srv.URL, "--json")
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, errOut)
	}
	var res hub.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json result: %v\n%s", err, out)
	}
	if res.Path != dest || res.Source != hub.SourceLocal || res.Commit != miniCommit || h.served.Load() != 0 {
		t.Errorf("second run: %+v, %d bytes served; want the complete local folder", res, h.served.Load())
	}
	var first hub.Progress
	if err := json.Unmarshal([]byte(strings.SplitN(errOut, "\n", 2)[0]), &first); err != nil || first.Phase != hub.PhaseListing {
		t.Errorf("--json progress: first line %q (%v), want a listing event", strings.SplitN(errOut, "\n", 2)[0], err)
	}
}

func TestDownloadErrors(t *testing.T) {
	isolateHubEnv(t)
	h := newMiniHub(t, "sensenova/SenseNova-U1-8B-MoT", map[string][]byte{"config.json": []byte("{}")}, nil)
	dest := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "--model is required"},
		{[]string{"--model", "U1-9000"}, 2, "SenseNova-U1-8B-MoT-Infographic"},
		{[]string{"--model", "a/b/c"}, 2, "org/name"},
		{[]string{"--model", "x/y", "--jobs", "0"}, 2, "--jobs 0"},
		{[]string{"--model", "x/y", "--endpoint", "ftp://mirror"}, 2, "ftp://mirror"},
		{[]string{"--list", "--model", "x/y"}, 2, "--list takes no --model"},
		{[]string{"--model", "sensenova/Missing", "--output_dir", dest, "--endpoint", h.srv.URL}, 1, "sensenova/Missing not found"},
	} {
		code, out, errOut := run(t, "", append([]string{"download"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("download %v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}

	// Ctrl-C: the cancelled context gives status 130.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runCtx(ctx, "download", "--model", "SenseNova-U1-8B-MoT", "--output_dir", dest, "--endpoint", h.srv.URL)
	if r.code != exitCancelled || !strings.Contains(r.errOut, "cancelled") {
		t.Errorf("cancelled: exit %d, %q", r.code, r.errOut)
	}
}
