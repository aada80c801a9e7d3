package hub

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSpans(t *testing.T) {
	var s spans
	s.add(10, 20)
	s.add(30, 40)
	s.add(20, 25) // touches the first: merged
	s.add(5, 5)   // empty: ignored
	if want := (spans{{10, 25}, {30, 40}}); !reflect.DeepEqual(s, want) {
		t.Fatalf("spans %v, want %v", s, want)
	}
	if got := s.covered(); got != 25 {
		t.Errorf("covered %d, want 25", got)
	}
	if got, want := s.missing(50), []span{{0, 10}, {25, 30}, {40, 50}}; !reflect.DeepEqual(got, want) {
		t.Errorf("missing %v, want %v", got, want)
	}
	s.add(0, 50)
	if want := (spans{{0, 50}}); !reflect.DeepEqual(s, want) {
		t.Errorf("after covering everything: %v", s)
	}
	if m := s.missing(50); len(m) != 0 {
		t.Errorf("missing %v of a covered range", m)
	}
	if got, want := chunks([]span{{0, 10}, {20, 25}}, 4), []span{{0, 4}, {4, 8}, {8, 10}, {20, 24}, {24, 25}}; !reflect.DeepEqual(got, want) {
		t.Errorf("chunks %v, want %v", got, want)
	}
	if got, ok := spansFrom([][2]int64{{30, 40}, {0, 10}, {5, 12}}, 40); !ok || !reflect.DeepEqual(got, spans{{0, 12}, {30, 40}}) {
		t.Errorf("spansFrom: %v %v", got, ok)
	}
	for _, bad := range [][][2]int64{{{-1, 3}}, {{0, 41}}, {{9, 3}}} {
		if _, ok := spansFrom(bad, 40); ok {
			t.Errorf("spansFrom accepted %v for a 40-byte file", bad)
		}
	}
}

// The meter measures over its window with an injected clock.
func TestMeterAndETA(t *testing.T) {
	m := meter{window: 5 * time.Second}
	t0 := time.Unix(1000, 0)
	m.add(t0, 0)
	if r := m.rate(); r != 0 {
		t.Errorf("rate from one sample: %v", r)
	}
	m.add(t0.Add(100*time.Millisecond), 1e6)
	if r := m.rate(); r != 0 {
		t.Errorf("rate over 100 ms should not be reported yet, got %v", r)
	}
	for i := 1; i <= 10; i++ {
		m.add(t0.Add(time.Duration(i)*time.Second), int64(i)*10e6)
	}
	// 5 s window: from t0+5s (50 MB) to t0+10s (100 MB).
	if r := m.rate(); r != 10e6 {
		t.Errorf("rate %v, want 10 MB/s", r)
	}
	if len(m.samples) > 7 {
		t.Errorf("meter keeps %d samples for a 5 s window of 1 s samples", len(m.samples))
	}
	if e := eta(50e6, 10e6); e != 5*time.Second {
		t.Errorf("eta %v, want 5s", e)
	}
	if e := eta(1, 0); e >= 0 {
		t.Errorf("eta without a rate %v, want unknown", e)
	}
	if e := eta(0, 0); e != 0 {
		t.Errorf("eta of nothing %v", e)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 35_100_000_000: "35.1 GB", 4_708_000_000: "4.7 GB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	a, b, total, ok := parseContentRange("bytes 100-199/1000")
	if !ok || a != 100 || b != 199 || total != 1000 {
		t.Errorf("got %d %d %d %v", a, b, total, ok)
	}
	if _, _, total, ok := parseContentRange("bytes 0-9/*"); !ok || total != -1 {
		t.Errorf("unknown total: %d %v", total, ok)
	}
	for _, bad := range []string{"", "bytes 1-/3", "items 0-1/2", "bytes 0-1"} {
		if _, _, _, ok := parseContentRange(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestCatalogueAndResolve(t *testing.T) {
	cat := Catalogue()
	wantRepos := []string{"sensenova/SenseNova-U1-8B-MoT", "sensenova/SenseNova-U1-8B-MoT-SFT", "sensenova/SenseNova-U1-8B-MoT-Infographic", "sensenova/SenseNova-U1.5-8B-MoT"}
	if len(cat) != len(wantRepos) {
		t.Fatalf("%d catalogue entries, want %d", len(cat), len(wantRepos))
	}
	for i, m := range cat {
		if m.Repo != wantRepos[i] || ValidateRepo(m.Repo) != nil || !strings.HasSuffix(m.Repo, "/"+m.Name) || !m.Known {
			t.Errorf("entry %d: %+v", i, m)
		}
		if m.ApproxBytes < 30e9 || m.ApproxBytes > 40e9 {
			t.Errorf("%s: approximate size %d, want about 35 GB", m.Name, m.ApproxBytes)
		}
		wantHead := map[string]string{"U1": "mlp", "U1.5": "pixel"}[m.Layout]
		if wantHead == "" || m.Head != wantHead {
			t.Errorf("%s: layout %q head %q", m.Name, m.Layout, m.Head)
		}
	}
	cat[0].Repo = "changed"
	if Catalogue()[0].Repo == "changed" {
		t.Error("Catalogue returns shared state")
	}

	for in, want := range map[string]string{
		"SenseNova-U1-8B-MoT":               "sensenova/SenseNova-U1-8B-MoT",
		" sensenova-u1.5-8b-mot ":           "sensenova/SenseNova-U1.5-8B-MoT",
		"SENSENOVA/SenseNova-U1-8B-MoT-SFT": "sensenova/SenseNova-U1-8B-MoT-SFT",
		"someone/Other-Model":               "someone/Other-Model",
	} {
		m, err := Resolve(in)
		if err != nil || m.Repo != want {
			t.Errorf("Resolve(%q) = %+v, %v; want %s", in, m, err, want)
		}
	}
	if m, _ := Resolve("someone/Other-Model"); m.Known || m.Name != "Other-Model" {
		t.Errorf("an arbitrary repository: %+v", m)
	}
	for _, bad := range []string{"U1-9B", "a/b/c", "org/-x", "../etc"} {
		if _, err := Resolve(bad); err == nil {
			t.Errorf("Resolve(%q) accepted", bad)
		}
	}
	_, err := Resolve("nope")
	if err == nil || !strings.Contains(err.Error(), "SenseNova-U1-8B-MoT-Infographic") {
		t.Errorf("unknown name: %v; want the known names listed", err)
	}
}

func TestValidateNames(t *testing.T) {
	for _, ok := range []string{"sensenova/SenseNova-U1-8B-MoT", "a/b", "Org_1/name.v2"} {
		if err := ValidateRepo(ok); err != nil {
			t.Errorf("ValidateRepo(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "noslash", "a/", "/b", "a/b/c", "a/b c", "a--b/c", "a/b..c", "a/.b", "a/b-", strings.Repeat("a", 60) + "/" + strings.Repeat("b", 40)} {
		if err := ValidateRepo(bad); err == nil {
			t.Errorf("ValidateRepo(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"config.json", "sub/dir/file.bin", ".gitattributes"} {
		if err := validateFileName(ok); err != nil {
			t.Errorf("validateFileName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", `a\b`, "C:x", ".download/x", manifestName, "a\x00b", "./a"} {
		if err := validateFileName(bad); err == nil {
			t.Errorf("validateFileName(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "../x", "a//b", "/main", "x\x01"} {
		if err := validateRevision(bad); err == nil {
			t.Errorf("validateRevision(%q) accepted", bad)
		}
	}
	if err := validateRevision("refs/pr/1"); err != nil {
		t.Errorf("refs/pr/1: %v", err)
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	c := ConfigFromEnv(env(map[string]string{"HOME": "/home/u"}))
	want := Config{Endpoint: DefaultEndpoint, CacheDir: filepath.Join("/home/u", ".cache", "huggingface", "hub")}
	if c != want {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	c = ConfigFromEnv(env(map[string]string{
		"HF_ENDPOINT": "https://hf-mirror.com", "HF_TOKEN": " tok ", "HF_HUB_OFFLINE": "1",
		"HF_HOME": "~/hf", "HOME": "/home/u", "XDG_CACHE_HOME": "/xdg",
	}))
	want = Config{Endpoint: "https://hf-mirror.com", Token: "tok", CacheDir: filepath.Join("/home/u", "hf", "hub"), Offline: true}
	if c != want {
		t.Errorf("from the environment %+v, want %+v", c, want)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"HF_HUB_CACHE wins": {map[string]string{"HF_HUB_CACHE": "/c", "HF_HOME": "/h"}, "/c"},
		"legacy variable":   {map[string]string{"HUGGINGFACE_HUB_CACHE": "/old"}, "/old"},
		"XDG":               {map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, filepath.Join("/xdg", "huggingface", "hub")},
		"nothing":           {map[string]string{}, ""},
	} {
		if got := HFCacheDir(env(tc.env)); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	if c := ConfigFromEnv(env(map[string]string{"HUGGING_FACE_HUB_TOKEN": "old"})); c.Token != "old" {
		t.Errorf("legacy token variable ignored: %+v", c)
	}
	for _, bad := range []string{"ftp://x", "huggingface.co", "https://", "https://x/?a=b"} {
		if _, err := NewClient(Config{Endpoint: bad}, nil); err == nil {
			t.Errorf("endpoint %q accepted", bad)
		}
	}
}

// The listing is read from /api/models/{repo}/revision/{rev}?blobs=true,
// LFS sizes and hashes win over the pointer's, and malformed answers are
// explained.
func TestSnapshotListing(t *testing.T) {
	var body string
	var gotPath, gotQuery, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotAuth = r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	c, err := NewClient(Config{Endpoint: srv.URL + "/", Token: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sha := strings.Repeat("ab", 32)
	body = `{"id":"o/m","sha":"` + fakeCommit + `","siblings":[
		{"rfilename":"config.json","size":12,"blobId":"` + strings.Repeat("c", 40) + `"},
		{"rfilename":"model.safetensors","size":134,"blobId":"` + strings.Repeat("d", 40) + `","lfs":{"sha256":"` + strings.ToUpper(sha) + `","size":5000000000,"pointerSize":134}}]}`
	s, err := c.Snapshot(t.Context(), "o/m", "refs/pr/1")
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/api/models/o/m/revision/refs%2Fpr%2F1" || gotQuery != "blobs=true" || gotAuth != "Bearer t" {
		t.Errorf("asked %s?%s with %q", gotPath, gotQuery, gotAuth)
	}
	want := Snapshot{Repo: "o/m", Revision: "refs/pr/1", Commit: fakeCommit, Files: []File{
		{Name: "config.json", Size: 12, BlobID: strings.Repeat("c", 40)},
		{Name: "model.safetensors", Size: 5_000_000_000, SHA256: sha, BlobID: strings.Repeat("d", 40)},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("snapshot\n got %+v\nwant %+v", s, want)
	}
	if s.TotalBytes() != 5_000_000_012 {
		t.Errorf("total %d", s.TotalBytes())
	}
	if u := c.FileURL("o/m", fakeCommit, "sub dir/a#b.json"); u != srv.URL+"/o/m/resolve/"+fakeCommit+"/sub%20dir/a%23b.json" {
		t.Errorf("file URL %s", u)
	}

	for what, b := range map[string]string{
		"no sizes":      `{"sha":"x","siblings":[{"rfilename":"a"}]}`,
		"bad sha256":    `{"sha":"x","siblings":[{"rfilename":"a","size":1,"lfs":{"sha256":"zz","size":1}}]}`,
		"twice":         `{"sha":"x","siblings":[{"rfilename":"a","size":1},{"rfilename":"a","size":1}]}`,
		"no files":      `{"sha":"x","siblings":[]}`,
		"not JSON":      `<html>`,
		"negative size": `{"sha":"x","siblings":[{"rfilename":"a","size":-1}]}`,
	} {
		body = b
		if _, err := c.Snapshot(t.Context(), "o/m", "main"); err == nil {
			t.Errorf("%s: accepted", what)
		} else if errors.Is(err, ErrNotFound) {
			t.Errorf("%s: reported as not found: %v", what, err)
		}
	}
}

// Inspect reads a manifest that is not one as an error, and a missing
// folder as empty.
func TestInspect(t *testing.T) {
	st, err := Inspect(filepath.Join(t.TempDir(), "none"))
	if err != nil || st.Complete || st.Manifest != nil || st.PartialFiles != 0 {
		t.Errorf("missing folder: %+v, %v", st, err)
	}
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, manifestName), []byte("{"))
	if _, err := Inspect(dir); err == nil || !strings.Contains(err.Error(), manifestName) {
		t.Errorf("broken manifest: %v", err)
	}
	m := Manifest{Version: manifestVersion, Repo: "o/m", Commit: "c", Files: []File{{Name: "a", Size: 3}}}
	data, _ := json.Marshal(m)
	mustWrite(t, filepath.Join(dir, manifestName), data)
	st, err = Inspect(dir)
	if err != nil || st.Complete || !reflect.DeepEqual(st.Missing, []string{"a"}) {
		t.Errorf("manifest with a missing file: %+v, %v", st, err)
	}
	mustWrite(t, filepath.Join(dir, "a"), []byte("abc"))
	if st, _ := Inspect(dir); !st.Complete {
		t.Errorf("complete folder: %+v", st)
	}
}
