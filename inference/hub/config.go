package hub

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the branch downloaded when none is named.
const DefaultRevision = "main"

// Config says where the hub is and what may be reused.
type Config struct {
	// Endpoint is the hub's base URL (DefaultEndpoint when empty); a mirror
	// must answer the same API and file URLs.
	Endpoint string
	// Token, when set, is sent as "Authorization: Bearer <token>" to the
	// endpoint's host only (gated or private repositories).
	Token string
	// CacheDir is the Hugging Face hub cache (models--{org}--{name}/…);
	// empty disables reusing it.
	CacheDir string
	// Offline never contacts the endpoint: only complete copies on disk
	// are returned (HF_HUB_OFFLINE).
	Offline bool
}

// ConfigFromEnv reads the variables the Hugging Face tools honour:
// HF_ENDPOINT, HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN),
// HF_HUB_OFFLINE, and the cache location (see HFCacheDir). getenv is
// usually os.Getenv. No token file is read.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{
		Endpoint: strings.TrimSpace(getenv("HF_ENDPOINT")),
		Token:    strings.TrimSpace(getenv("HF_TOKEN")),
		CacheDir: HFCacheDir(getenv),
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.Token == "" {
		c.Token = strings.TrimSpace(getenv("HUGGING_FACE_HUB_TOKEN"))
	}
	switch strings.ToLower(strings.TrimSpace(getenv("HF_HUB_OFFLINE"))) {
	case "1", "on", "yes", "true":
		c.Offline = true
	}
	return c
}

// HFCacheDir is the Hugging Face hub cache folder, as huggingface_hub
// resolves it: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (on
// every system). Empty when none can be found.
func HFCacheDir(getenv func(string) string) string {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if v := getenv(k); v != "" {
			return expandHome(v, getenv)
		}
	}
	if v := getenv("HF_HOME"); v != "" {
		return filepath.Join(expandHome(v, getenv), "hub")
	}
	if v := getenv("XDG_CACHE_HOME"); v != "" {
		return filepath.Join(expandHome(v, getenv), "huggingface", "hub")
	}
	home := homeDir(getenv)
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// homeDir is the user's home folder from the environment.
func homeDir(getenv func(string) string) string {
	for _, k := range []string{"HOME", "USERPROFILE"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// expandHome replaces a leading "~" as Python's expanduser does.
func expandHome(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if home := homeDir(getenv); home != "" {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// DefaultDir is where a repository is downloaded when the caller names no
// folder: <user cache folder>/sensenova-studio/models/<org>/<name>
// (~/.cache on Linux, ~/Library/Caches on macOS, %LocalAppData% on
// Windows). Weights can always be fetched again, which is what a cache
// folder is for.
func DefaultDir(repo string) (string, error) {
	if err := ValidateRepo(repo); err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("hub: no user cache folder to download %s into (name a folder instead): %w", repo, err)
	}
	return filepath.Join(base, "sensenova-studio", "models", filepath.FromSlash(repo)), nil
}

// parseEndpoint checks a base URL: http or https, a host, no query.
func parseEndpoint(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultEndpoint
	}
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("hub: endpoint %q is not a base URL like %s", s, DefaultEndpoint)
	}
	return u, nil
}

// ValidateRepo checks a repository id: "org/name", each part of letters,
// digits, '-', '_' and '.', not starting or ending with '-' or '.', without
// "--" or "..", at most 96 characters in all — the hub's own rule.
func ValidateRepo(repo string) error {
	bad := func(why string) error {
		return fmt.Errorf("hub: repository id %q %s; want org/name, e.g. sensenova/SenseNova-U1-8B-MoT", repo, why)
	}
	if len(repo) > 96 {
		return bad("is longer than 96 characters")
	}
	org, name, ok := strings.Cut(repo, "/")
	if !ok || strings.Contains(name, "/") {
		return bad("is not two parts separated by one '/'")
	}
	for _, part := range []string{org, name} {
		if part == "" {
			return bad("has an empty part")
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return bad(fmt.Sprintf("has the character %q", r))
			}
		}
		if strings.Contains(part, "--") || strings.Contains(part, "..") {
			return bad("contains \"--\" or \"..\"")
		}
		if strings.ContainsAny(part[:1], "-.") || strings.ContainsAny(part[len(part)-1:], "-.") {
			return bad("has a part starting or ending with '-' or '.'")
		}
	}
	return nil
}

// validateRevision checks a branch, tag or commit name.
func validateRevision(rev string) error {
	if rev == "" {
		return errors.New("hub: the revision is empty; want a branch, tag or commit such as main")
	}
	if len(rev) > 255 || strings.ContainsAny(rev, "\\\x00") || strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") {
		return fmt.Errorf("hub: revision %q is not a branch, tag or commit name", rev)
	}
	for _, seg := range strings.Split(rev, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("hub: revision %q is not a branch, tag or commit name", rev)
		}
	}
	for _, r := range rev {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("hub: revision %q has a control character", rev)
		}
	}
	return nil
}

// Names this package writes inside a model folder.
const (
	partDirName   = ".download"
	manifestName  = ".sensenova-manifest.json"
	partSuffix    = ".part"
	sidecarSuffix = ".part.json"
)

// validateFileName checks a file name from a listing before it becomes a
// path under the destination: relative, '/'-separated, no "." or ".."
// segment, no control characters, and not one of this package's own names.
func validateFileName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("hub: the listing names a file %q, which %s", name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > 1024:
		return bad("is longer than 1024 bytes")
	case strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.Contains(name, ":"):
		return bad("is not a relative path with '/' separators")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("has a control character")
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("has an empty, \".\" or \"..\" segment")
		}
	}
	if first, _, _ := strings.Cut(name, "/"); first == partDirName || name == manifestName || path.Clean(name) != name {
		return bad("collides with the downloader's own files")
	}
	return nil
}
