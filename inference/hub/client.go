package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sensenova/studio/internal/version"
)

// Errors a caller may want to tell apart (test with errors.Is).
var (
	// ErrNotFound: the repository, revision or file does not exist at the
	// endpoint (or is private and no token gives access).
	ErrNotFound = errors.New("not found")
	// ErrAccessDenied: the endpoint refused the request (gated or private
	// repository, bad token).
	ErrAccessDenied = errors.New("access denied")
	// ErrUnreachable: the endpoint could not be reached at all.
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrChecksum: a downloaded file is not the file the listing describes.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNoSpace: the destination's disk is too full.
	ErrNoSpace = errors.New("not enough disk space")
)

// File is one file of a repository snapshot.
type File struct {
	// Name is the path inside the repository, '/'-separated.
	Name string `json:"name"`
	// Size is the file's size in bytes (for LFS files the real size, not
	// the pointer's).
	Size int64 `json:"size"`
	// SHA256 is the lower-case hex SHA-256 of an LFS file; empty for files
	// kept in git itself.
	SHA256 string `json:"sha256,omitempty"`
	// BlobID is the git blob SHA-1 (of the pointer, for LFS files).
	BlobID string `json:"blob_id,omitempty"`
}

// Snapshot is a repository's file list at one commit.
type Snapshot struct {
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
	// Commit is the commit the revision named when listed; files are
	// fetched from it.
	Commit string `json:"commit"`
	Files  []File `json:"files"`
}

// TotalBytes is the sum of the files' sizes.
func (s Snapshot) TotalBytes() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.Size
	}
	return n
}

// Client talks to one Hugging Face compatible endpoint. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// NewClient makes a client for cfg. With hc nil it uses a transport tuned
// for downloads: HTTP/1.1 (so parallel ranges get their own connections),
// many idle connections per host, a 60 s limit for response headers. The
// client's redirect policy is replaced so the token never leaves the
// endpoint's host.
func NewClient(cfg Config, hc *http.Client) (*Client, error) {
	base, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	cfg.Endpoint = base.String()
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Transport = downloadTransport()
	}
	cl := &Client{cfg: cfg, base: base}
	c.CheckRedirect = cl.checkRedirect
	cl.http = &c
	return cl, nil
}

func downloadTransport() http.RoundTripper {
	def, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := def.Clone()
	var p http.Protocols
	p.SetHTTP1(true)
	t.Protocols = &p
	t.MaxIdleConnsPerHost = 64
	t.ResponseHeaderTimeout = 60 * time.Second
	return t
}

// checkRedirect follows at most 10 redirects and drops the token when a
// redirect leaves the endpoint's host (scheme, name and port).
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("hub: more than 10 redirects from %s", via[0].URL.Redacted())
	}
	if !c.sameHost(req.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

func (c *Client) sameHost(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// Config is the configuration the client was made with (Endpoint
// normalised).
func (c *Client) Config() Config { return c.cfg }

// newRequest makes a GET request with the User-Agent and, for the
// endpoint's host, the token.
func (c *Client) newRequest(ctx context.Context, rawURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: bad URL %q: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", "sensenova-studio/"+version.Version)
	if c.cfg.Token != "" && c.sameHost(req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return req, nil
}

// escapePath escapes each '/'-separated segment of p.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// listingURL is the hub API URL of a repository at a revision, with file
// metadata.
func (c *Client) listingURL(repo, revision string) string {
	return c.cfg.Endpoint + "/api/models/" + escapePath(repo) + "/revision/" + url.PathEscape(revision) + "?blobs=true"
}

// FileURL is the URL a file is downloaded from; the endpoint usually
// redirects it to a CDN.
func (c *Client) FileURL(repo, commit, name string) string {
	return c.cfg.Endpoint + "/" + escapePath(repo) + "/resolve/" + url.PathEscape(commit) + "/" + escapePath(name)
}

// listing is the part of the hub's model-info answer this package reads.
type listing struct {
	ID       string `json:"id"`
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *struct {
			SHA256 string `json:"sha256"`
			Size   *int64 `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// maxListingBytes bounds the listing answer (a model repo's is a few kB).
const maxListingBytes = 64 << 20

// Snapshot lists a repository's files at a revision (branch, tag or
// commit) with their sizes and checksums.
func (c *Client) Snapshot(ctx context.Context, repo, revision string) (Snapshot, error) {
	if err := ValidateRepo(repo); err != nil {
		return Snapshot{}, err
	}
	if err := validateRevision(revision); err != nil {
		return Snapshot{}, err
	}
	u := c.listingURL(repo, revision)
	req, err := c.newRequest(ctx, u)
	if err != nil {
		return Snapshot{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Snapshot{}, fmt.Errorf("hub: listing %s@%s: %w", repo, revision, context.Cause(ctx))
		}
		return Snapshot{}, fmt.Errorf("hub: listing %s@%s at %s: %w (%w)", repo, revision, c.cfg.Endpoint, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Snapshot{}, c.listingError(resp, repo, revision)
	}
	var l listing
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListingBytes)).Decode(&l); err != nil {
		if ctx.Err() != nil {
			return Snapshot{}, fmt.Errorf("hub: listing %s@%s: %w", repo, revision, context.Cause(ctx))
		}
		return Snapshot{}, fmt.Errorf("hub: %s did not answer a model listing for %s@%s (%v); is it a Hugging Face compatible endpoint?", u, repo, revision, err)
	}
	return parseListing(l, repo, revision, u)
}

// parseListing checks a listing and turns it into a Snapshot.
func parseListing(l listing, repo, revision, u string) (Snapshot, error) {
	s := Snapshot{Repo: repo, Revision: revision, Commit: l.SHA}
	if s.Commit == "" {
		// A mirror without commit ids: fetch from the revision itself.
		s.Commit = revision
	} else if err := validateRevision(s.Commit); err != nil {
		return Snapshot{}, fmt.Errorf("hub: %s: the listing's commit %q is not a commit id", u, l.SHA)
	}
	seen := make(map[string]bool, len(l.Siblings))
	for _, sib := range l.Siblings {
		name := sib.RFilename
		if err := validateFileName(name); err != nil {
			return Snapshot{}, fmt.Errorf("%w (%s)", err, u)
		}
		if seen[name] {
			return Snapshot{}, fmt.Errorf("hub: %s lists %q twice", u, name)
		}
		seen[name] = true
		f := File{Name: name, BlobID: strings.ToLower(sib.BlobID)}
		switch {
		case sib.LFS != nil && sib.LFS.Size != nil:
			f.Size = *sib.LFS.Size
		case sib.Size != nil:
			f.Size = *sib.Size
		default:
			return Snapshot{}, fmt.Errorf("hub: %s gives no size for %q; the endpoint must support ?blobs=true", u, name)
		}
		if f.Size < 0 {
			return Snapshot{}, fmt.Errorf("hub: %s gives %q the size %d", u, name, f.Size)
		}
		if sib.LFS != nil {
			f.SHA256 = strings.ToLower(sib.LFS.SHA256)
			if !isHex(f.SHA256, 64) {
				return Snapshot{}, fmt.Errorf("hub: %s gives %q the SHA-256 %q; want 64 hex digits", u, name, sib.LFS.SHA256)
			}
		}
		if f.BlobID != "" && !isHex(f.BlobID, 40) {
			f.BlobID = "" // not a git SHA-1 (some mirrors): verify the size only
		}
		s.Files = append(s.Files, f)
	}
	if len(s.Files) == 0 {
		return Snapshot{}, fmt.Errorf("hub: %s lists no files for %s@%s", u, repo, revision)
	}
	return s, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// listingError explains a non-200 answer to the listing request. The hub
// answers 401 for a repository that does not exist (so private ones are
// not revealed), 404 with X-Error-Code RevisionNotFound for a missing
// revision, and 403 for gated repositories whose terms were not accepted.
func (c *Client) listingError(resp *http.Response, repo, revision string) error {
	code := resp.Header.Get("X-Error-Code")
	status := statusText(resp)
	ep := c.cfg.Endpoint
	switch {
	case code == "RevisionNotFound":
		return fmt.Errorf("hub: repository %s has no revision %q at %s (%s): %w", repo, revision, ep, status, ErrNotFound)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized && (code == "RepoNotFound" || c.cfg.Token == ""):
		hint := ""
		if c.cfg.Token == "" {
			hint = "; if it is private or gated, set HF_TOKEN"
		}
		return fmt.Errorf("hub: repository %s not found at %s (revision %s; %s)%s: %w", repo, ep, revision, status, hint, ErrNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("hub: access to %s at %s denied (revision %s; %s); a gated repository needs its terms accepted on the website and a token in HF_TOKEN: %w", repo, ep, revision, status, ErrAccessDenied)
	}
	return fmt.Errorf("hub: listing %s@%s at %s: %s", repo, revision, ep, status)
}

// statusText is an error answer's status with the hub's explanation, if it
// gave one (X-Error-Message, or a short body): "HTTP 404 Not Found: Entry
// not found".
func statusText(resp *http.Response) string {
	m := resp.Header.Get("X-Error-Message")
	if m == "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			m = e.Error
		} else if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/plain") {
			m = string(body)
		}
	}
	m = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, m))
	if len(m) > 200 {
		m = m[:200] + "…"
	}
	if m == "" {
		return "HTTP " + resp.Status
	}
	return "HTTP " + resp.Status + ": " + m
}
