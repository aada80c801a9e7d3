package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// job brings one file into the destination.
type job struct {
	r                    *run
	f                    File
	final, part, sidecar string
	check                bool // the final file exists with the right size: hash it first

	mu     sync.Mutex // guards the fields below
	state  partState
	done   spans
	pf     partFile
	direct string // where the file URL last redirected to
}

// loadState reads the file's sidecar and keeps its ranges when it belongs
// to this file and its part file is still there with the file's size;
// otherwise the file starts from nothing.
func (j *job) loadState() {
	snap := j.r.snap
	j.state = partState{Version: partStateVersion, Repo: snap.Repo, Commit: snap.Commit,
		File: j.f.Name, Size: j.f.Size, SHA256: j.f.SHA256, BlobID: j.f.BlobID}
	j.done = nil
	ps, err := readPartState(j.sidecar)
	if err != nil || !ps.matches(snap.Repo, snap.Commit, j.f) {
		return
	}
	st, err := os.Stat(j.part)
	if err != nil || !st.Mode().IsRegular() || st.Size() != j.f.Size {
		return
	}
	done, ok := spansFrom(ps.Done, j.f.Size)
	if !ok {
		return
	}
	j.done = done
	j.state.ETag = ps.ETag
}

// run checks, fetches, verifies and places the file.
func (j *job) run(ctx context.Context) error {
	if j.check {
		j.r.emit(PhaseChecking, j.f.Name, true)
		fh, err := os.Open(j.final)
		if err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		_, ok, err := j.verify(ctx, fh)
		fh.Close()
		if err != nil {
			return err
		}
		if ok {
			j.r.fileDone(j.f.Name, j.f.Size)
			return nil
		}
	}
	pf, err := j.r.d.open(j.part, j.f.Size)
	if err != nil {
		return j.writeError("opening", err)
	}
	j.pf = pf
	closed := false
	defer func() {
		if !closed {
			pf.Close()
		}
	}()
	if err := j.fetchAll(ctx); err != nil {
		return err
	}

	j.r.emit(PhaseVerifying, j.f.Name, true)
	got, ok, err := j.verify(ctx, pf)
	if err != nil {
		return err
	}
	if !ok {
		closed = true
		pf.Close()
		os.Remove(j.part)
		os.Remove(j.sidecar)
		return fmt.Errorf("hub: %s@%s: %q downloaded with %s, but the listing says %s; it was discarded (run again to fetch it anew): %w",
			j.r.repo, shortCommit(j.r.snap.Commit), j.f.Name, got, j.want(), ErrChecksum)
	}
	if err := pf.Sync(); err != nil {
		return j.writeError("syncing", err)
	}
	closed = true
	if err := pf.Close(); err != nil {
		return j.writeError("closing", err)
	}
	if err := os.MkdirAll(filepath.Dir(j.final), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(j.part, j.final); err != nil {
		return fmt.Errorf("hub: putting %q in place: %w", j.f.Name, err)
	}
	os.Remove(j.sidecar)
	j.r.fileDone(j.f.Name, 0)
	return nil
}

// fetchAll fetches the file's missing ranges, Connections at a time.
func (j *job) fetchAll(ctx context.Context) error {
	todo := chunks(j.done.missing(j.f.Size), j.r.d.chunkSize())
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan span, len(todo))
	for _, c := range todo {
		queue <- c
	}
	close(queue)
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	for range min(j.r.d.connections(), len(todo)) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for c := range queue {
				if ctx.Err() != nil {
					return
				}
				if err := j.fetchChunk(ctx, c, buf); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	return firstErr
}

// transientError is a failure worth retrying: a cut connection, a stall,
// a 5xx or 429 answer.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// errRetryNow: a cached redirect target failed; ask the file URL again.
var errRetryNow = errors.New("redirect target expired")

// errStalled cancels a request that delivered nothing for StallTimeout.
var errStalled = errors.New("no data received")

// fetchChunk fetches [c.Start, c.End), retrying from where a failed
// request stopped.
func (j *job) fetchChunk(ctx context.Context, c span, buf []byte) error {
	pos, failures := c.Start, 0
	for pos < c.End {
		n, err := j.fetchRange(ctx, pos, c.End, buf)
		if n > 0 {
			if rerr := j.record(pos, pos+n); rerr != nil {
				return rerr
			}
			pos += n
			failures = 0
		}
		if err == nil {
			if n == 0 {
				err = transientError{fmt.Errorf("hub: %q: an empty answer for bytes %d-%d", j.f.Name, pos, c.End-1)}
			} else {
				continue
			}
		}
		if errors.Is(err, errRetryNow) && ctx.Err() == nil {
			continue
		}
		var te transientError
		if ctx.Err() != nil || !errors.As(err, &te) {
			return err
		}
		failures++
		if failures > j.r.d.retries() {
			return fmt.Errorf("hub: %s@%s: giving up on %q after %d failed attempts: %w", j.r.repo, shortCommit(j.r.snap.Commit), j.f.Name, failures, err)
		}
		if err := sleep(ctx, j.r.d.delay(failures)); err != nil {
			return err
		}
	}
	return nil
}

// record marks [a, b) as written: the part is synced first, so a range in
// the sidecar is always on disk.
func (j *job) record(a, b int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done.add(a, b)
	if err := j.pf.Sync(); err != nil {
		return j.writeError("syncing", err)
	}
	j.state.Done = j.done.pairs()
	if err := writePartState(j.sidecar, j.state); err != nil {
		return j.writeError("recording the progress of", err)
	}
	return nil
}

// source is the URL to ask next: the redirect target of an earlier
// request (saving a round trip), else the file URL.
func (j *job) source() (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.direct != "" {
		return j.direct, true
	}
	return j.r.d.Client.FileURL(j.r.repo, j.r.snap.Commit, j.f.Name), false
}

func (j *job) setDirect(u string) {
	j.mu.Lock()
	j.direct = u
	j.mu.Unlock()
}

// fetchRange asks for [start, end) once and writes what arrives at its
// offsets. It returns the bytes written from start on, with nil when the
// answer ended normally (possibly short of end: the server may send less).
func (j *job) fetchRange(ctx context.Context, start, end int64, buf []byte) (int64, error) {
	src, direct := j.source()
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := j.r.d.stall()
	timer := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer timer.Stop()

	req, err := j.r.d.Client.newRequest(rctx, src)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end-1))
	resp, err := j.r.d.Client.http.Do(req)
	if err != nil {
		return 0, j.readError(ctx, rctx, err, 0, end-start)
	}
	defer resp.Body.Close()

	if direct && resp.StatusCode >= 400 && resp.StatusCode < 500 {
		j.setDirect("") // a signed URL expired: go through the file URL again
		return 0, errRetryNow
	}
	where := fmt.Sprintf("%s@%s: %q", j.r.repo, shortCommit(j.r.snap.Commit), j.f.Name)
	want := end - start
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		a, b, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || a != start || b < a || b >= end || total >= 0 && total != j.f.Size {
			return 0, fmt.Errorf("hub: %s: asked for bytes %d-%d, the server answered Content-Range %q (the listing says the file has %d bytes)",
				where, start, end-1, resp.Header.Get("Content-Range"), j.f.Size)
		}
		want = b + 1 - start
	case code == http.StatusOK:
		if start != 0 || end != j.f.Size {
			return 0, fmt.Errorf("hub: %s: the server ignored the range request for bytes %d-%d (HTTP 200); the endpoint must support HTTP Range requests", where, start, end-1)
		}
		if resp.ContentLength >= 0 && resp.ContentLength != j.f.Size {
			return 0, fmt.Errorf("hub: %s: the server sends %d bytes, the listing says %d", where, resp.ContentLength, j.f.Size)
		}
	case code == http.StatusNotFound || code == http.StatusGone:
		return 0, fmt.Errorf("hub: %s: not found at %s (%s): %w", where, j.r.d.Client.FileURL(j.r.repo, j.r.snap.Commit, j.f.Name), statusText(resp), ErrNotFound)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return 0, fmt.Errorf("hub: %s: access denied (%s); a gated repository needs its terms accepted and a token in HF_TOKEN: %w", where, statusText(resp), ErrAccessDenied)
	case code == http.StatusRequestedRangeNotSatisfiable:
		return 0, fmt.Errorf("hub: %s: the server has fewer bytes than the listing's %d (HTTP 416 for bytes %d-%d)", where, j.f.Size, start, end-1)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return 0, transientError{fmt.Errorf("hub: %s: %s", where, statusText(resp))}
	default:
		return 0, fmt.Errorf("hub: %s: %s", where, statusText(resp))
	}
	if !direct && resp.Request != nil && resp.Request.URL.String() != src {
		j.setDirect(resp.Request.URL.String())
	}
	if err := j.checkETag(resp.Header.Get("ETag"), where); err != nil {
		return 0, err
	}

	var n int64
	for n < want {
		m, rerr := resp.Body.Read(buf[:min(int64(len(buf)), want-n)])
		if m > 0 {
			timer.Reset(stall)
			if _, werr := j.pf.WriteAt(buf[:m], start+n); werr != nil {
				return n, j.writeError("writing", werr)
			}
			n += int64(m)
			j.r.added(int64(m))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, j.readError(ctx, rctx, rerr, n, want)
		}
	}
	if n < want {
		return n, transientError{fmt.Errorf("hub: %s: the connection closed after %d of %d bytes", where, n, want)}
	}
	return n, nil
}

// readError classifies a failed request or read: the caller's cancel, a
// stall, or a transient network failure.
func (j *job) readError(ctx, rctx context.Context, err error, got, want int64) error {
	if ctx.Err() != nil {
		return fmt.Errorf("hub: %s: %w", j.f.Name, context.Cause(ctx))
	}
	if errors.Is(context.Cause(rctx), errStalled) {
		return transientError{fmt.Errorf("hub: %q: %w for %s (%d of %d bytes)", j.f.Name, errStalled, j.r.d.stall(), got, want)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its URL may be a signed one: keep it out of messages
	}
	return transientError{fmt.Errorf("hub: %q: %w (%d of %d bytes)", j.f.Name, err, got, want)}
}

// checkETag keeps the first ETag seen. A file with a checksum is verified
// at the end whatever the ETag; for one without, another ETag means the
// server's file changed, and its recorded ranges are dropped.
func (j *job) checkETag(etag, where string) error {
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if etag == "" {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state.ETag == "" {
		j.state.ETag = etag
		return nil
	}
	if j.state.ETag == etag || j.f.SHA256 != "" || j.f.BlobID != "" {
		return nil
	}
	old := j.state.ETag
	j.state.ETag, j.done, j.state.Done = "", nil, nil
	writePartState(j.sidecar, j.state)
	return fmt.Errorf("hub: %s changed on the server during the download (ETag %q, then %q); run again to fetch it anew", where, old, etag)
}

// writeError explains a failure of the destination's disk.
func (j *job) writeError(doing string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("hub: the disk is full %s %s (%v); the part is kept: free some space and run again to resume: %w", doing, j.part, err, ErrNoSpace)
	}
	return fmt.Errorf("hub: %s %s: %w", doing, j.part, err)
}

// want describes the listing's checksum of the file.
func (j *job) want() string {
	switch {
	case j.f.SHA256 != "":
		return "SHA-256 " + j.f.SHA256
	case j.f.BlobID != "":
		return "git blob SHA-1 " + j.f.BlobID
	}
	return fmt.Sprintf("%d bytes", j.f.Size)
}

// verify reads the file's bytes from r and compares them with the
// listing: SHA-256, else git blob SHA-1, else the size alone. got
// describes what was read, in the same words as want.
func (j *job) verify(ctx context.Context, r io.ReaderAt) (got string, ok bool, err error) {
	var h hash.Hash
	kind := ""
	switch {
	case j.f.SHA256 != "":
		h, kind = sha256.New(), "SHA-256 "
	case j.f.BlobID != "":
		h, kind = sha1.New(), "git blob SHA-1 "
		fmt.Fprintf(h, "blob %d\x00", j.f.Size)
	default:
		h = nopHash{}
	}
	sr := io.NewSectionReader(r, 0, j.f.Size)
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", false, fmt.Errorf("hub: verifying %q: %w", j.f.Name, context.Cause(ctx))
		}
		m, rerr := sr.Read(buf)
		h.Write(buf[:m])
		n += int64(m)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", false, fmt.Errorf("hub: reading %q back: %w", j.f.Name, rerr)
		}
	}
	if n != j.f.Size {
		return fmt.Sprintf("%d bytes", n), false, nil
	}
	if kind == "" {
		return fmt.Sprintf("%d bytes", n), true, nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return kind + sum, sum == j.f.SHA256 || j.f.SHA256 == "" && sum == j.f.BlobID, nil
}

// nopHash stands in when a file has no checksum.
type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }

// parseContentRange parses "bytes A-B/TOTAL" (TOTAL may be "*": -1).
func parseContentRange(s string) (a, b, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	as, bs, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	a, err1 = strconv.ParseInt(as, 10, 64)
	b, err2 = strconv.ParseInt(bs, 10, 64)
	total = -1
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	return a, b, total, err1 == nil && err2 == nil && err3 == nil
}

// shortCommit abbreviates a commit id for messages.
func shortCommit(c string) string {
	if isHex(c, 40) {
		return c[:10]
	}
	return c
}
