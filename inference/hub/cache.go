package hub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// The Hugging Face hub cache keeps a repository as
//
//	<cache>/models--{org}--{name}/refs/{revision}          the commit the revision named
//	<cache>/models--{org}--{name}/snapshots/{commit}/{file} a link to ../../blobs/{etag}
//	<cache>/models--{org}--{name}/blobs/{etag}             the bytes; etag is the SHA-256 of
//	                                                       an LFS file, the git blob SHA-1 otherwise
//
// A snapshot link appears only once its blob is complete; where links are
// not available (Windows without developer mode) the snapshot holds copies.

// cacheRepoDir is a repository's folder in the cache.
func cacheRepoDir(cacheDir, repo string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// FindInCache returns the cache's snapshot folder of s when it holds every
// file of s with its size (and, where the file is a link to a blob, the
// blob named by the file's SHA-256 or blob id). The folder can be used as a
// model folder as is.
func FindInCache(cacheDir string, s Snapshot) (string, bool) {
	if cacheDir == "" || ValidateRepo(s.Repo) != nil || validateRevision(s.Commit) != nil || strings.Contains(s.Commit, "/") {
		return "", false
	}
	dir := filepath.Join(cacheRepoDir(cacheDir, s.Repo), "snapshots", s.Commit)
	for _, f := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		lst, err := os.Lstat(p)
		if err != nil {
			return "", false
		}
		if lst.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return "", false
			}
			blob := filepath.Base(target)
			switch {
			case f.SHA256 != "" && isHex(blob, 64) && blob != f.SHA256:
				return "", false
			case f.SHA256 == "" && f.BlobID != "" && isHex(blob, 40) && blob != f.BlobID:
				return "", false
			}
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Size() != f.Size {
			return "", false
		}
	}
	return dir, true
}

// CachedSnapshot finds a snapshot of repo at revision (a branch or tag the
// cache has a ref for, or a commit) without asking the endpoint, and
// returns it when its checkpoint looks complete: config.json, and
// model.safetensors or every shard model.safetensors.index.json names.
// It is the offline fallback; sizes and checksums are not known here.
func CachedSnapshot(cacheDir, repo, revision string) (dir, commit string, ok bool) {
	if cacheDir == "" || ValidateRepo(repo) != nil || validateRevision(revision) != nil {
		return "", "", false
	}
	root := cacheRepoDir(cacheDir, repo)
	commit = revision
	if data, err := os.ReadFile(filepath.Join(root, "refs", filepath.FromSlash(revision))); err == nil {
		commit = strings.TrimSpace(string(data))
	}
	if validateRevision(commit) != nil || strings.Contains(commit, "/") {
		return "", "", false
	}
	dir = filepath.Join(root, "snapshots", commit)
	if !checkpointPresent(dir) {
		return "", "", false
	}
	return dir, commit, true
}

// checkpointPresent reports whether dir has the files a checkpoint folder
// needs: config.json and the weights (one file, or the index and every
// shard it names).
func checkpointPresent(dir string) bool {
	isFile := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		return err == nil && st.Mode().IsRegular()
	}
	if !isFile("config.json") {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json"))
	if err != nil {
		return isFile("model.safetensors")
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if json.Unmarshal(data, &idx) != nil || len(idx.WeightMap) == 0 {
		return false
	}
	seen := map[string]bool{}
	for _, shard := range idx.WeightMap {
		if seen[shard] {
			continue
		}
		seen[shard] = true
		if validateFileName(shard) != nil || !isFile(shard) {
			return false
		}
	}
	return true
}
