package hub

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

const (
	tinyRepo = "sensenova/Tiny-MoT"
	shard1   = "model-00001-of-00002.safetensors"
	shard2   = "model-00002-of-00002.safetensors"
)

func totalSize(h *fakeHub) int64 {
	var n int64
	for _, f := range h.files {
		n += int64(len(f.data))
	}
	return n
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// A fresh download: every file arrives through range requests (LFS files
// from the CDN host after a redirect), is verified, lands in place, and the
// manifest is written; nothing is fetched twice, the token never reaches
// the CDN, and progress ends at 100 %.
func TestDownloadRangesRedirectAndManifest(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	d := newTestDownloader(t, h, Config{Token: "secret"})
	var events []Progress
	d.Progress = func(p Progress) { events = append(events, p) }
	dest := filepath.Join(t.TempDir(), "model")

	res, err := download(t.Context(), d, h, dest)
	if err != nil {
		t.Fatal(err)
	}
	total := totalSize(h)
	want := Result{Path: dest, Repo: tinyRepo, Revision: "main", Commit: fakeCommit, Source: SourceDownloaded, Files: 6, Bytes: total, Fetched: total}
	if res != want {
		t.Errorf("result\n got %+v\nwant %+v", res, want)
	}
	checkFolder(t, h, dest)
	if !exists(filepath.Join(dest, manifestName)) {
		t.Error("no manifest after a complete download")
	}
	if exists(filepath.Join(dest, partDirName)) {
		t.Errorf("%s is left behind", partDirName)
	}
	if got := h.servedBytes(""); got != total {
		t.Errorf("the hub served %d bytes for %d bytes of files", got, total)
	}

	for _, r := range h.requestsFor("api", "") {
		if r.auth != "Bearer secret" {
			t.Errorf("API request carried Authorization %q, want the token", r.auth)
		}
	}
	for _, r := range h.requestsFor("resolve", "") {
		if r.auth != "Bearer secret" {
			t.Errorf("file URL request for %s carried Authorization %q, want the token", r.file, r.auth)
		}
	}
	cdn := h.requestsFor("cdn", shard1)
	var starts []int64
	for _, r := range cdn {
		if r.auth != "" {
			t.Errorf("the token was sent to the CDN host (%s, %s)", r.file, r.rng)
		}
		if r.rng == "" {
			t.Errorf("a CDN request for %s had no Range header", r.file)
		}
		starts = append(starts, r.start)
	}
	slices.Sort(starts)
	if wantStarts := []int64{0, 65536, 131072, 196608, 262144}; !slices.Equal(starts, wantStarts) {
		t.Errorf("%s was fetched with ranges starting at %v, want one 64 KiB range each at %v", shard1, starts, wantStarts)
	}

	if len(events) < 3 || events[0].Phase != PhaseListing {
		t.Fatalf("progress events %+v: want listing first", events)
	}
	last := events[len(events)-1]
	if last.Phase != PhaseDone || last.BytesDone != total || last.BytesTotal != total || last.FilesDone != 6 || last.FilesTotal != 6 || last.Fraction() != 1 {
		t.Errorf("last progress event %+v: want done, %d/%d bytes, 6/6 files", last, total, total)
	}
	for i := 1; i < len(events); i++ {
		if events[i].BytesDone < events[i-1].BytesDone {
			t.Errorf("bytes done went back from %d to %d", events[i-1].BytesDone, events[i].BytesDone)
		}
	}

	// Again: the manifest vouches for the folder; only the listing is asked.
	h.resetCounters()
	res, err = download(t.Context(), d, h, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourceLocal || res.Path != dest || res.Fetched != 0 {
		t.Errorf("second download: %+v, want the local folder and nothing fetched", res)
	}
	if n := h.servedBytes(""); n != 0 {
		t.Errorf("second download fetched %d bytes", n)
	}
	st, err := Inspect(dest)
	if err != nil || !st.Complete || st.Manifest.Commit != fakeCommit || st.PartialFiles != 0 {
		t.Errorf("Inspect: %+v, %v; want complete at the fake commit", st, err)
	}
}

// A connection cut in the middle of a range is retried from the byte it
// stopped at, and the file completes with nothing fetched twice.
func TestConnectionCutIsResumed(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	h.cutAfter[shard1] = 10_000
	d := newTestDownloader(t, h, Config{})
	d.Connections = 1
	dest := t.TempDir()
	if _, err := download(t.Context(), d, h, dest); err != nil {
		t.Fatal(err)
	}
	checkFolder(t, h, dest)
	size := int64(len(standardFiles()[2].data))
	if got := h.servedBytes(shard1); got != size {
		t.Errorf("%s: %d bytes served for a %d-byte file; the retry should ask only for the rest", shard1, got, size)
	}
	var retried bool
	for _, r := range h.requestsFor("cdn", shard1) {
		retried = retried || r.start == 10_000
	}
	if !retried {
		t.Errorf("no request resumed at byte 10000: %+v", h.requestsFor("cdn", shard1))
	}
}

// A file whose bytes do not match the listing's SHA-256 is an error naming
// the file and both hashes, and it is not kept.
func TestChecksumMismatchDiscardsFile(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	good := standardFiles()[3].data
	bad := pattern(len(good), 9)
	h.corrupt[shard2] = bad
	d := newTestDownloader(t, h, Config{})
	dest := t.TempDir()
	_, err := download(t.Context(), d, h, dest)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("error %v, want ErrChecksum", err)
	}
	for _, want := range []string{shard2, sha256Hex(good), sha256Hex(bad)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	for _, p := range []string{shard2, manifestName, filepath.Join(partDirName, shard2+partSuffix), filepath.Join(partDirName, shard2+sidecarSuffix)} {
		if exists(filepath.Join(dest, p)) {
			t.Errorf("%s exists after the checksum mismatch", p)
		}
	}
	if st, _ := Inspect(dest); st.Complete {
		t.Error("Inspect says complete after a checksum mismatch")
	}

	// A small git file is checked against its blob id.
	h2 := newFakeHub(t, tinyRepo, standardFiles())
	h2.corrupt["config.json"] = []byte(`{"model_type":"neo_chaT"}`)
	_, err = download(t.Context(), newTestDownloader(t, h2, Config{}), h2, t.TempDir())
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), "git blob SHA-1 "+gitBlobID(standardFiles()[0].data)) {
		t.Errorf("corrupt config.json: %v", err)
	}
}

// Missing files, repositories and revisions are errors that name them.
func TestNotFoundErrors(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	h.missing[shard1] = true
	d := newTestDownloader(t, h, Config{})
	dest := t.TempDir()
	_, err := download(t.Context(), d, h, dest)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("error %v, want ErrNotFound", err)
	}
	for _, want := range []string{tinyRepo, shard1, "404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if exists(filepath.Join(dest, manifestName)) {
		t.Error("a manifest was written")
	}

	_, err = d.Download(t.Context(), "sensenova/No-Such-Model", "main", dest)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "sensenova/No-Such-Model") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("unknown repository: %v", err)
	}
	_, err = d.Download(t.Context(), tinyRepo, "v9", dest)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"v9"`) {
		t.Errorf("unknown revision: %v", err)
	}
}

// Too little free space stops the download before any byte is fetched.
func TestFullDiskBeforeStart(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	d := newTestDownloader(t, h, Config{})
	d.freeSpace = func(string) (int64, error) { return 1000, nil }
	dest := t.TempDir()
	_, err := download(t.Context(), d, h, dest)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("error %v, want ErrNoSpace", err)
	}
	for _, want := range []string{dest, "1.0 kB free", FormatBytes(totalSize(h))} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := h.servedBytes(""); n != 0 {
		t.Errorf("%d bytes were fetched before the space check failed", n)
	}
	// An unknown free space (non-unix) skips the check.
	d.freeSpace = func(string) (int64, error) { return 0, errSpaceUnknown }
	if _, err := download(t.Context(), d, h, dest); err != nil {
		t.Errorf("with the free space unknown: %v", err)
	}
}

// failingPart simulates a disk that fills up: writes beyond a budget fail
// with ENOSPC.
type failingPart struct {
	partFile
	budget *atomic.Int64
}

func (p failingPart) WriteAt(b []byte, off int64) (int, error) {
	if p.budget.Add(-int64(len(b))) < 0 {
		return 0, &fs.PathError{Op: "write", Path: "part", Err: syscall.ENOSPC}
	}
	return p.partFile.WriteAt(b, off)
}

// expectedRefetch is what a resumed download must fetch: every file not in
// place (or in place but without a checksum to vouch for it) minus its
// recorded ranges.
func expectedRefetch(t *testing.T, h *fakeHub, dest string) int64 {
	t.Helper()
	var n int64
	for _, f := range h.files {
		if exists(filepath.Join(dest, filepath.FromSlash(f.name))) && (f.lfs || !f.noBlobID) {
			continue
		}
		n += int64(len(f.data))
		if ps, err := readPartState(filepath.Join(dest, partDirName, filepath.FromSlash(f.name)+sidecarSuffix)); err == nil {
			done, _ := spansFrom(ps.Done, ps.Size)
			n -= done.covered()
		}
	}
	return n
}

// checkRecorded fails unless every range a sidecar records holds the
// file's true bytes.
func checkRecorded(t *testing.T, h *fakeHub, dest string) int64 {
	t.Helper()
	var total int64
	for _, f := range h.files {
		base := filepath.Join(dest, partDirName, filepath.FromSlash(f.name))
		ps, err := readPartState(base + sidecarSuffix)
		if err != nil {
			continue
		}
		part, err := os.ReadFile(base + partSuffix)
		if err != nil {
			t.Fatalf("%s has a sidecar but no part: %v", f.name, err)
		}
		for _, r := range ps.Done {
			if string(part[r[0]:r[1]]) != string(f.data[r[0]:r[1]]) {
				t.Errorf("%s: recorded range %v does not hold the file's bytes", f.name, r)
			}
			total += r[1] - r[0]
		}
	}
	return total
}

// A write that fails for lack of space is reported as a full disk; the
// recorded ranges survive, and a later run fetches only the rest.
func TestFullDiskWhileWritingThenResume(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	d := newTestDownloader(t, h, Config{})
	var budget atomic.Int64
	budget.Store(150_000)
	d.openPart = func(p string, size int64) (partFile, error) {
		f, err := openPartFile(p, size)
		if err != nil {
			return nil, err
		}
		return failingPart{f, &budget}, nil
	}
	dest := t.TempDir()
	_, err := download(t.Context(), d, h, dest)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("error %v, want a full-disk ErrNoSpace", err)
	}
	if exists(filepath.Join(dest, manifestName)) {
		t.Fatal("manifest written after a failed write")
	}
	recorded := checkRecorded(t, h, dest)
	if recorded == 0 {
		t.Fatal("nothing recorded before the disk filled up")
	}
	st, err := Inspect(dest)
	if err != nil || st.Complete || st.PartialBytes != recorded {
		t.Errorf("Inspect: %+v, %v; want incomplete with %d partial bytes", st, err, recorded)
	}

	want := expectedRefetch(t, h, dest)
	h.resetCounters()
	d2 := newTestDownloader(t, h, Config{})
	if _, err := download(t.Context(), d2, h, dest); err != nil {
		t.Fatal(err)
	}
	checkFolder(t, h, dest)
	if got := h.servedBytes(""); got != want {
		t.Errorf("the resumed download fetched %d bytes, want the %d missing", got, want)
	}
}

// A new Downloader (a restarted process) on an interrupted folder continues
// from the recorded ranges: it asks only for missing bytes, and files
// already in place are verified, not fetched.
func TestResumeAfterRestart(t *testing.T) {
	h := newFakeHub(t, tinyRepo, []fakeFile{
		{name: "config.json", data: []byte(`{"a":1}`)},
		{name: "model.safetensors", data: pattern(200_000, 5), lfs: true},
	})
	const chunk = 16 << 10
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h.beforeRange = func(w http.ResponseWriter, r *http.Request, file string, start int64) bool {
		if file == "model.safetensors" && start >= 3*chunk {
			cancel() // the "process" stops here
			<-r.Context().Done()
			return false
		}
		return true
	}
	d := newTestDownloader(t, h, Config{})
	d.Jobs, d.Connections, d.ChunkSize = 1, 1, chunk
	dest := t.TempDir()
	_, err := download(ctx, d, h, dest)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	st, err := Inspect(dest)
	if err != nil || st.Complete || st.PartialFiles != 1 || st.PartialBytes != 3*chunk {
		t.Fatalf("after the interruption Inspect says %+v, %v; want 1 partial file of %d bytes", st, err, 3*chunk)
	}
	if got := h.servedBytes("model.safetensors"); got != 3*chunk {
		t.Fatalf("first run served %d bytes, want %d", got, 3*chunk)
	}

	h.beforeRange = nil
	h.resetCounters()
	d2 := newTestDownloader(t, h, Config{})
	d2.ChunkSize = chunk
	res, err := download(t.Context(), d2, h, dest)
	if err != nil {
		t.Fatal(err)
	}
	checkFolder(t, h, dest)
	if got, want := h.servedBytes("model.safetensors"), int64(200_000-3*chunk); got != want || res.Fetched != want {
		t.Errorf("second run served %d bytes (result says %d), want the %d missing", got, res.Fetched, want)
	}
	if n := h.servedBytes("config.json"); n != 0 {
		t.Errorf("config.json, already in place, was fetched again (%d bytes)", n)
	}
	for _, r := range append(h.requestsFor("cdn", "model.safetensors"), h.requestsFor("resolve", "model.safetensors")...) {
		if r.start < 3*chunk {
			t.Errorf("second run asked for bytes from %d, which the first run had recorded", r.start)
		}
	}
}

// Cancelling stops every connection, leaves nothing complete, and keeps
// only ranges that hold the right bytes.
func TestCancel(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h.beforeRange = func(w http.ResponseWriter, r *http.Request, file string, start int64) bool {
		if file == shard1 && start > 0 {
			cancel()
			<-r.Context().Done()
			return false
		}
		return true
	}
	d := newTestDownloader(t, h, Config{})
	d.Jobs = 1 // files in order: the shard is fetched while nothing after it has started
	dest := t.TempDir()
	_, err := download(ctx, d, h, dest)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	for _, p := range []string{shard1, shard2, manifestName} {
		if exists(filepath.Join(dest, p)) {
			t.Errorf("%s exists after a cancel", p)
		}
	}
	if st, _ := Inspect(dest); st.Complete {
		t.Error("Inspect says complete after a cancel")
	}
	if rec := checkRecorded(t, h, dest); rec > h.servedBytes(shard1) {
		t.Errorf("recorded %d bytes, more than the %d served", rec, h.servedBytes(shard1))
	}
}

// makeCache lays out h's snapshot in a Hugging Face cache as
// huggingface_hub does (blobs, snapshot links, a ref), leaving out skip.
func makeCache(t *testing.T, h *fakeHub, skip string) (cache, snapshot string) {
	t.Helper()
	cache = t.TempDir()
	root := filepath.Join(cache, "models--"+strings.ReplaceAll(h.repo, "/", "--"))
	snapshot = filepath.Join(root, "snapshots", h.commit)
	for _, f := range h.files {
		etag := gitBlobID(f.data)
		if f.lfs {
			etag = sha256Hex(f.data)
		}
		blob := filepath.Join(root, "blobs", etag)
		mustWrite(t, blob, f.data)
		if f.name == skip {
			continue
		}
		link := filepath.Join(snapshot, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Dir(link), blob)
		if err := os.Symlink(rel, link); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	mustWrite(t, filepath.Join(root, "refs", "main"), []byte(h.commit))
	return cache, snapshot
}

func mustWrite(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A complete snapshot in the Hugging Face cache is returned as is; an
// incomplete one is not used.
func TestHFCacheReuse(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	cache, snapshot := makeCache(t, h, "")
	d := newTestDownloader(t, h, Config{CacheDir: cache})
	dest := filepath.Join(t.TempDir(), "model")
	res, err := download(t.Context(), d, h, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourceHFCache || res.Path != snapshot || res.Commit != fakeCommit || res.Fetched != 0 {
		t.Errorf("result %+v, want the cache snapshot %s", res, snapshot)
	}
	checkFolder(t, h, res.Path)
	if n := h.servedBytes(""); n != 0 || exists(dest) {
		t.Errorf("fetched %d bytes / created %s although the cache is complete", n, dest)
	}

	cache2, _ := makeCache(t, h, shard2)
	d2 := newTestDownloader(t, h, Config{CacheDir: cache2})
	res, err = download(t.Context(), d2, h, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourceDownloaded || res.Path != dest {
		t.Errorf("with %s missing from the cache: %+v, want a download into %s", shard2, res, dest)
	}
	checkFolder(t, h, dest)

	// Offline, the cache's ref and index are enough.
	dOff := newTestDownloader(t, h, Config{CacheDir: cache, Offline: true})
	h.resetCounters()
	res, err = dOff.Download(t.Context(), tinyRepo, "main", filepath.Join(t.TempDir(), "x"))
	if err != nil || res.Source != SourceHFCache || !res.Offline || res.Path != snapshot {
		t.Errorf("offline with a complete cache: %+v, %v", res, err)
	}
	if n := len(h.requestsFor("api", "")); n != 0 {
		t.Errorf("offline mode asked the endpoint %d times", n)
	}
}

// Offline or unreachable, a complete destination is returned; with no copy
// anywhere the error says why.
func TestOfflineAndUnreachable(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	dest := t.TempDir()
	if _, err := download(t.Context(), newTestDownloader(t, h, Config{}), h, dest); err != nil {
		t.Fatal(err)
	}
	res, err := download(t.Context(), newTestDownloader(t, h, Config{Offline: true}), h, dest)
	if err != nil || res.Source != SourceLocal || !res.Offline || res.Commit != fakeCommit {
		t.Errorf("offline with a complete folder: %+v, %v", res, err)
	}
	_, err = download(t.Context(), newTestDownloader(t, h, Config{Offline: true}), h, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("offline with nothing on disk: %v", err)
	}

	gone := newFakeHub(t, tinyRepo, standardFiles())
	gone.api.Close()
	d := newTestDownloader(t, gone, Config{})
	res, err = download(t.Context(), d, gone, dest)
	if err != nil || res.Source != SourceLocal || !res.Offline {
		t.Errorf("unreachable endpoint with a complete folder: %+v, %v", res, err)
	}
	_, err = download(t.Context(), d, gone, t.TempDir())
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("unreachable endpoint and nothing on disk: %v, want ErrUnreachable", err)
	}
}

// Files already in the destination without a manifest are hashed: a good
// one is kept without fetching, a damaged one is replaced.
func TestExistingFilesAreVerified(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	dest := t.TempDir()
	mustWrite(t, filepath.Join(dest, shard1), standardFiles()[2].data)
	mustWrite(t, filepath.Join(dest, shard2), pattern(len(standardFiles()[3].data), 7))
	d := newTestDownloader(t, h, Config{})
	if _, err := download(t.Context(), d, h, dest); err != nil {
		t.Fatal(err)
	}
	checkFolder(t, h, dest)
	if n := h.servedBytes(shard1); n != 0 {
		t.Errorf("%s was intact but fetched (%d bytes)", shard1, n)
	}
	if n := h.servedBytes(shard2); n != int64(len(standardFiles()[3].data)) {
		t.Errorf("%s was damaged; %d bytes fetched, want all", shard2, n)
	}
}

// A server that ignores Range is fine for a file fetched in one piece and
// a clear error for one that needs several ranges.
func TestServerWithoutRangeSupport(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	h.noRange = true
	d := newTestDownloader(t, h, Config{})
	d.Filter = func(name string) bool { return name == "config.json" || name == shard2 }
	d.ChunkSize = 1 << 20
	dest := t.TempDir()
	if _, err := download(t.Context(), d, h, dest); err != nil {
		t.Fatalf("single-range files from a server without Range support: %v", err)
	}
	d.Filter = nil
	d.ChunkSize = 64 << 10
	_, err := download(t.Context(), d, h, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "Range") || !strings.Contains(err.Error(), shard1) && !strings.Contains(err.Error(), shard2) {
		t.Errorf("multi-range file from a server without Range support: %v", err)
	}
}

// A listing that names a path outside the folder is refused.
func TestListingWithEscapingPath(t *testing.T) {
	h := newFakeHub(t, tinyRepo, []fakeFile{{name: "../outside.txt", data: []byte("x")}})
	d := newTestDownloader(t, h, Config{})
	dest := t.TempDir()
	_, err := download(t.Context(), d, h, dest)
	if err == nil || !strings.Contains(err.Error(), "../outside.txt") {
		t.Fatalf("error %v, want a refusal naming the path", err)
	}
	if exists(filepath.Join(filepath.Dir(dest), "outside.txt")) {
		t.Error("a file was written outside the destination")
	}
}

// A folder holding another repository's download is not mixed with this
// one.
func TestFolderOfAnotherRepository(t *testing.T) {
	h := newFakeHub(t, tinyRepo, standardFiles())
	dest := t.TempDir()
	if _, err := download(t.Context(), newTestDownloader(t, h, Config{}), h, dest); err != nil {
		t.Fatal(err)
	}
	other := newFakeHub(t, "sensenova/Other-MoT", standardFiles())
	_, err := download(t.Context(), newTestDownloader(t, other, Config{}), other, dest)
	if err == nil || !strings.Contains(err.Error(), tinyRepo) || !strings.Contains(err.Error(), "sensenova/Other-MoT") {
		t.Fatalf("error %v, want a refusal naming both repositories", err)
	}
	if n := other.servedBytes(""); n != 0 {
		t.Errorf("%d bytes fetched into another repository's folder", n)
	}
	if st, _ := Inspect(dest); !st.Complete || st.Manifest.Repo != tinyRepo {
		t.Errorf("the first download's folder changed: %+v", st)
	}
}
