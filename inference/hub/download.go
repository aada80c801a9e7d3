package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Downloader fetches repository snapshots into folders. Set its fields
// before the first Download; one Downloader may run downloads into
// different folders at the same time.
type Downloader struct {
	// Client is the endpoint to fetch from (required). Its Config also
	// says which Hugging Face cache to reuse and whether to stay offline.
	Client *Client
	// Jobs is how many files are fetched at once (default 4).
	Jobs int
	// Connections is how many range requests one file uses at once
	// (default 4).
	Connections int
	// ChunkSize is the bytes asked for by one range request (default
	// 32 MiB); it is also what an interruption can cost per connection.
	ChunkSize int64
	// Retries is how many times in a row a range request may fail without
	// delivering a byte before the download gives up (default 5); the
	// waits between them double from 1 s up to 30 s.
	Retries int
	// StallTimeout aborts and retries a request that delivers nothing for
	// this long (default 60 s).
	StallTimeout time.Duration
	// Filter, when set, keeps only the files it returns true for.
	Filter func(name string) bool
	// Progress, when set, receives progress reports: on every phase
	// change and file completion, and at most every 250 ms while bytes
	// arrive. Calls are serialised (never two at once) but come from the
	// download's goroutines, so the callback must be quick and must not
	// call back into the Downloader.
	Progress func(Progress)

	// Seams for tests (nil: the real ones).
	freeSpace  func(dir string) (int64, error)
	openPart   func(path string, size int64) (partFile, error)
	retryDelay func(attempt int) time.Duration
	now        func() time.Time
}

// partFile is where a file's bytes are written while it downloads.
type partFile interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Close() error
}

// errSpaceUnknown: the free space of a folder cannot be measured here.
var errSpaceUnknown = errors.New("free space unknown on this system")

// Source says where a Result's folder came from.
type Source string

// The sources of a Result.
const (
	// SourceDownloaded: fetched (in whole or in part) by this call.
	SourceDownloaded Source = "downloaded"
	// SourceLocal: the destination already held the complete snapshot.
	SourceLocal Source = "local"
	// SourceHFCache: the Hugging Face cache holds the complete snapshot;
	// Path is its snapshot folder and nothing was written.
	SourceHFCache Source = "hf_cache"
)

// Result describes a complete model folder.
type Result struct {
	// Path is the folder holding the files.
	Path     string `json:"path"`
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
	Commit   string `json:"commit"`
	Source   Source `json:"source"`
	// Offline is true when the endpoint was not asked (Config.Offline) or
	// could not be reached and a complete copy on disk was returned.
	Offline bool `json:"offline,omitempty"`
	Files   int  `json:"files"`
	// Bytes is the snapshot's size; Fetched what this call transferred.
	Bytes   int64 `json:"bytes"`
	Fetched int64 `json:"fetched"`
}

const (
	defaultJobs        = 4
	defaultConnections = 4
	defaultChunkSize   = 32 << 20
	defaultRetries     = 5
	defaultStall       = 60 * time.Second
	progressInterval   = 250 * time.Millisecond
	meterWindow        = 5 * time.Second
)

func (d *Downloader) jobs() int            { return positive(d.Jobs, defaultJobs) }
func (d *Downloader) connections() int     { return positive(d.Connections, defaultConnections) }
func (d *Downloader) retries() int         { return positive(d.Retries, defaultRetries) }
func (d *Downloader) chunkSize() int64     { return positive(d.ChunkSize, defaultChunkSize) }
func (d *Downloader) stall() time.Duration { return positive(d.StallTimeout, defaultStall) }

func positive[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func (d *Downloader) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

func (d *Downloader) delay(attempt int) time.Duration {
	if d.retryDelay != nil {
		return d.retryDelay(attempt)
	}
	return min(time.Second<<min(attempt-1, 5), 30*time.Second)
}

func (d *Downloader) free(dir string) (int64, error) {
	if d.freeSpace != nil {
		return d.freeSpace(dir)
	}
	return diskFree(dir)
}

func (d *Downloader) open(p string, size int64) (partFile, error) {
	if d.openPart != nil {
		return d.openPart(p, size)
	}
	return openPartFile(p, size)
}

// openPartFile opens (or creates) a part file and gives it its final size;
// where the file system supports it the unwritten rest stays sparse.
func openPartFile(p string, size int64) (partFile, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.Size() != size {
		err = f.Truncate(size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Download makes dest hold repo at revision ("" for main) and returns the
// folder to load the model from. In order it:
//
//  1. lists the snapshot (or, offline or with the endpoint unreachable,
//     returns a complete copy on disk if there is one);
//  2. returns the Hugging Face cache's snapshot folder if it holds every
//     file;
//  3. returns dest if its manifest says it already holds this commit;
//  4. otherwise checks the free space, fetches what is missing (resuming
//     recorded ranges), verifies and places every file, and writes the
//     manifest last.
//
// Cancelling ctx stops it within one read; the error then wraps
// context.Canceled and the recorded ranges are kept for the next call.
func (d *Downloader) Download(ctx context.Context, repo, revision, dest string) (Result, error) {
	if d.Client == nil {
		return Result{}, errors.New("hub: Downloader has no Client")
	}
	if revision == "" {
		revision = DefaultRevision
	}
	if err := ValidateRepo(repo); err != nil {
		return Result{}, err
	}
	if err := validateRevision(revision); err != nil {
		return Result{}, err
	}
	if dest == "" {
		return Result{}, fmt.Errorf("hub: no destination folder for %s", repo)
	}
	dest, err := filepath.Abs(dest)
	if err != nil {
		return Result{}, fmt.Errorf("hub: destination %q: %w", dest, err)
	}
	cfg := d.Client.Config()
	r := &run{d: d, repo: repo, revision: revision, dest: dest, meter: meter{window: meterWindow}}
	if cfg.Offline {
		return r.offline(fmt.Errorf("hub: offline (HF_HUB_OFFLINE is set) and neither %s nor the Hugging Face cache %q holds a complete %s@%s", dest, cfg.CacheDir, repo, revision))
	}
	r.emit(PhaseListing, "", true)
	snap, err := d.Client.Snapshot(ctx, repo, revision)
	if err != nil {
		if errors.Is(err, ErrUnreachable) && ctx.Err() == nil {
			return r.offline(err)
		}
		return Result{}, err
	}
	if d.Filter != nil {
		snap.Files = slices.DeleteFunc(snap.Files, func(f File) bool { return !d.Filter(f.Name) })
		if len(snap.Files) == 0 {
			return Result{}, fmt.Errorf("hub: the filter keeps none of the files of %s@%s", repo, revision)
		}
	}
	r.snap = snap
	r.filesTotal, r.bytesTotal = len(snap.Files), snap.TotalBytes()

	if dir, ok := FindInCache(cfg.CacheDir, snap); ok {
		return r.finish(dir, SourceHFCache, false), nil
	}
	m, _ := readManifest(dest) // an unreadable manifest counts as none; it is rewritten at the end
	if m != nil && m.Repo != repo {
		return Result{}, fmt.Errorf("hub: %s holds %s, not %s; download into another folder (or delete this one) so the two checkpoints do not mix", dest, m.Repo, repo)
	}
	if manifestCovers(m, snap) && len(missingFiles(dest, snap.Files)) == 0 {
		return r.finish(dest, SourceLocal, false), nil
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Result{}, fmt.Errorf("hub: cannot create the destination: %w", err)
	}
	if m != nil {
		// From here on the folder is being changed: it must not pass
		// for complete until the new manifest is written.
		if err := os.Remove(filepath.Join(dest, manifestName)); err != nil {
			return Result{}, fmt.Errorf("hub: %w", err)
		}
	}
	jobs, need := r.plan(m)
	if free, err := d.free(dest); err == nil && free < need {
		return Result{}, fmt.Errorf("hub: %s has %s free, but %s@%s needs %s more: %w", dest, FormatBytes(free), repo, revision, FormatBytes(need), ErrNoSpace)
	}
	r.emit(PhaseDownloading, "", true)
	if err := r.runJobs(ctx, jobs); err != nil {
		return Result{}, err
	}
	if err := writeManifest(dest, Manifest{
		Version: manifestVersion, Repo: repo, Revision: revision, Commit: snap.Commit,
		Endpoint: cfg.Endpoint, Completed: d.clock().UTC(), Files: snap.Files,
	}); err != nil {
		return Result{}, err
	}
	removeEmptyDirs(filepath.Join(dest, partDirName))
	return r.finish(dest, SourceDownloaded, false), nil
}

// manifestCovers reports whether m vouches for every file of s.
func manifestCovers(m *Manifest, s Snapshot) bool {
	if m == nil || m.Repo != s.Repo {
		return false
	}
	for _, f := range s.Files {
		e, ok := m.entry(f.Name)
		if !ok || !(sameContent(e, f) || m.Commit == s.Commit && e.Size == f.Size) {
			return false
		}
	}
	return true
}

// run is one call of Download.
type run struct {
	d                    *Downloader
	repo, revision, dest string
	snap                 Snapshot

	mu                    sync.Mutex
	filesDone, filesTotal int
	bytesDone, bytesTotal int64
	fetched               int64
	meter                 meter
	last                  time.Time
}

// plan decides what to do with each file and returns the jobs and the
// bytes still to be written.
func (r *run) plan(m *Manifest) ([]*job, int64) {
	var jobs []*job
	var need int64
	partRoot := filepath.Join(r.dest, partDirName)
	for _, f := range r.snap.Files {
		rel := filepath.FromSlash(f.Name)
		j := &job{r: r, f: f,
			final:   filepath.Join(r.dest, rel),
			part:    filepath.Join(partRoot, rel+partSuffix),
			sidecar: filepath.Join(partRoot, rel+sidecarSuffix),
		}
		if st, err := os.Stat(j.final); err == nil && st.Mode().IsRegular() && st.Size() == f.Size {
			if e, ok := m.entry(f.Name); ok && (sameContent(e, f) || m.Commit == r.snap.Commit && e.Size == f.Size) {
				r.filesDone++
				r.bytesDone += f.Size
				continue
			}
			if f.SHA256 != "" || f.BlobID != "" {
				j.check = true // hash it; fetched only if it differs
			}
		}
		j.loadState()
		r.bytesDone += j.done.covered()
		need += f.Size - j.done.covered()
		jobs = append(jobs, j)
	}
	return jobs, need
}

// runJobs runs the jobs, Jobs files at once; the first failure stops the
// others.
func (r *run) runJobs(parent context.Context, jobs []*job) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, r.d.jobs())
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := j.run(ctx); err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				cancel(err)
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("hub: downloading %s into %s: %w", r.repo, r.dest, context.Cause(ctx))
	}
	return firstErr
}

// offline returns a complete copy on disk, or cause.
func (r *run) offline(cause error) (Result, error) {
	if m, err := readManifest(r.dest); err == nil && m != nil && m.Repo == r.repo &&
		(m.Revision == r.revision || m.Commit == r.revision) && len(missingFiles(r.dest, m.Files)) == 0 {
		r.snap = Snapshot{Repo: m.Repo, Revision: r.revision, Commit: m.Commit, Files: m.Files}
		r.filesTotal, r.bytesTotal = len(m.Files), r.snap.TotalBytes()
		return r.finish(r.dest, SourceLocal, true), nil
	}
	if dir, commit, ok := CachedSnapshot(r.d.Client.Config().CacheDir, r.repo, r.revision); ok {
		r.snap = Snapshot{Repo: r.repo, Revision: r.revision, Commit: commit}
		return r.finish(dir, SourceHFCache, true), nil
	}
	return Result{}, cause
}

// finish reports the end and makes the result.
func (r *run) finish(dir string, src Source, offline bool) Result {
	r.mu.Lock()
	r.filesDone, r.bytesDone = r.filesTotal, r.bytesTotal
	r.mu.Unlock()
	r.emit(PhaseDone, "", true)
	return Result{
		Path: dir, Repo: r.repo, Revision: r.revision, Commit: r.snap.Commit, Source: src, Offline: offline,
		Files: len(r.snap.Files), Bytes: r.snap.TotalBytes(), Fetched: r.fetched,
	}
}

// emit sends a progress report; unless force, at most every
// progressInterval.
func (r *run) emit(phase Phase, file string, force bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitLocked(phase, file, force)
}

func (r *run) emitLocked(phase Phase, file string, force bool) {
	now := r.d.clock()
	if !force && now.Sub(r.last) < progressInterval {
		return
	}
	r.last = now
	r.meter.add(now, r.fetched)
	if r.d.Progress == nil {
		return
	}
	rate := r.meter.rate()
	r.d.Progress(Progress{
		Phase: phase, Repo: r.repo, Commit: r.snap.Commit, File: file,
		FilesDone: r.filesDone, FilesTotal: r.filesTotal,
		BytesDone: r.bytesDone, BytesTotal: r.bytesTotal,
		BytesPerSecond: rate, ETA: eta(r.bytesTotal-r.bytesDone, rate),
	})
}

// added counts n bytes written by a range request.
func (r *run) added(n int64) {
	r.mu.Lock()
	r.bytesDone += n
	r.fetched += n
	r.emitLocked(PhaseDownloading, "", false)
	r.mu.Unlock()
}

// fileDone counts a file as complete; extra is the bytes not counted yet
// (a file found intact by hashing).
func (r *run) fileDone(name string, extra int64) {
	r.mu.Lock()
	r.filesDone++
	r.bytesDone += extra
	r.emitLocked(PhaseDownloading, name, true)
	r.mu.Unlock()
}

// removeEmptyDirs removes root and the folders under it that are empty,
// deepest first; anything still holding files stays.
func removeEmptyDirs(root string) {
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, harmlessly, on a folder that is not empty
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
