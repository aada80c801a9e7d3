package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/safetensors"
)

// Version identifies what this code generates. Bump it whenever the
// config, tokenizer or weights change: folders of another version are
// rebuilt (under their own name, so an older app keeps its own).
const Version = 2

// Seed seeds every random weight of the demo checkpoint.
const Seed = 20251125

// FolderName is the demo checkpoint's folder inside the cache root; it
// names the Version.
const FolderName = "demo-model-v2"

// manifestFile, written last into a finished folder, lists the size and
// SHA-256 of every other file; a folder whose files do not match it is
// rebuilt.
const manifestFile = "demo-manifest.json"

// shards is the number of weight files: several, with an index, as the
// released checkpoints are downloaded.
const shards = 2

// staleAfter is the age after which a leftover temporary folder (from a
// process that died while building) is removed.
const staleAfter = time.Hour

type manifest struct {
	Version int                  `json:"version"`
	Files   map[string]fileStamp `json:"files"`
}

type fileStamp struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// DefaultCacheRoot is the folder the app keeps generated files in:
// sensenova-studio inside the user's cache folder.
func DefaultCacheRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("demo model: no user cache folder: %w", err)
	}
	return filepath.Join(dir, "sensenova-studio"), nil
}

// IsDemo reports whether dir holds a demo checkpoint (of any version): its
// config.json carries the MarkerKey.
func IsDemo(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, checkpoint.ConfigFile))
	if err != nil {
		return false
	}
	v, ok := markerOf(data)
	return ok && v > 0
}

// markerOf reads the MarkerKey of a config.json.
func markerOf(config []byte) (int, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(config, &top) != nil {
		return 0, false
	}
	raw, ok := top[MarkerKey]
	if !ok {
		return 0, false
	}
	var v int
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	return v, true
}

// Ensure returns the demo checkpoint folder under cacheRoot
// (cacheRoot/FolderName), making it first if it is missing, incomplete,
// corrupt or of another version. A complete folder is returned as it is,
// untouched.
//
// The folder is built in a temporary sibling and renamed into place, so no
// one ever sees it half-written. Several processes may call Ensure at
// once: each builds its own copy, the first rename wins, and the others
// check the winner's folder and use it.
func Ensure(cacheRoot string) (string, error) {
	if cacheRoot == "" {
		return "", errors.New("demo model: no cache folder given")
	}
	dir := filepath.Join(cacheRoot, FolderName)
	if verify(dir) == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cacheRoot, 0o755); err != nil {
		return "", fmt.Errorf("demo model: %w", err)
	}
	removeStale(cacheRoot)
	tmp, err := os.MkdirTemp(cacheRoot, "."+FolderName+".tmp-")
	if err != nil {
		return "", fmt.Errorf("demo model: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := build(tmp); err != nil {
		return "", fmt.Errorf("demo model: building in %s: %w", tmp, err)
	}
	if err := verify(tmp); err != nil {
		return "", fmt.Errorf("demo model: the folder just built does not check: %w", err)
	}

	var lastErr error
	for range 5 {
		err := os.Rename(tmp, dir)
		if err == nil {
			return dir, nil
		}
		lastErr = err
		// Something is in the way: another process's finished folder
		// (use it), or a broken one (move it aside and try again).
		if verify(dir) == nil {
			return dir, nil
		}
		aside, err := os.MkdirTemp(cacheRoot, "."+FolderName+".old-")
		if err != nil {
			return "", fmt.Errorf("demo model: %w", err)
		}
		if err := os.Rename(dir, filepath.Join(aside, "broken")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			lastErr = err
		}
		os.RemoveAll(aside)
	}
	return "", fmt.Errorf("demo model: cannot put the new folder in place of %s: %w", dir, lastErr)
}

// build writes the whole demo checkpoint into the empty folder dir.
func build(dir string) error {
	td := buildTokenizer()
	files, err := tokenizerFiles(td)
	if err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	err = checkpoint.WriteLayout(dir, []byte(configText(td)), checkpoint.LayoutOptions{
		Shards: shards, DType: safetensors.BF16, FMHeadWidth: fmHeadWidth, Seed: Seed, Fill: newShaper(td).fill,
	})
	if err != nil {
		return err
	}
	// The manifest last: it vouches for everything else.
	m := manifest{Version: Version, Files: map[string]fileStamp{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		st, err := stamp(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		m.Files[e.Name()] = st
	}
	data, err := jsonText(m, "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, manifestFile), data, 0o644)
}

// expectedFiles are the files every demo folder has, besides the manifest.
func expectedFiles() []string {
	names := []string{
		checkpoint.ConfigFile, checkpoint.IndexFile,
		"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
		"added_tokens.json", "special_tokens_map.json",
	}
	for k := 1; k <= shards; k++ {
		names = append(names, fmt.Sprintf("model-%05d-of-%05d.safetensors", k, shards))
	}
	sort.Strings(names)
	return names
}

// verify checks a demo folder against its manifest: the right version,
// exactly the expected files, each with its recorded size and hash.
func verify(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", manifestFile, err)
	}
	if m.Version != Version {
		return fmt.Errorf("%s: version %d, want %d", dir, m.Version, Version)
	}
	var names []string
	for name := range m.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	if want := expectedFiles(); strings.Join(names, "\n") != strings.Join(want, "\n") {
		return fmt.Errorf("%s: the manifest lists %v, want %v", dir, names, want)
	}
	for _, name := range names {
		got, err := stamp(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if got != m.Files[name] {
			return fmt.Errorf("%s: %s has changed since it was made", dir, name)
		}
	}
	config, err := os.ReadFile(filepath.Join(dir, checkpoint.ConfigFile))
	if err != nil {
		return err
	}
	if v, _ := markerOf(config); v != Version {
		return fmt.Errorf("%s: config.json is not a version %d demo model", dir, Version)
	}
	return nil
}

// stamp measures one file.
func stamp(path string) (fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileStamp{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// removeStale deletes temporary folders that processes which died while
// building (or while removing a broken folder) left behind.
func removeStale(cacheRoot string) {
	ents, err := os.ReadDir(cacheRoot)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(name, "."+FolderName+".tmp-") || strings.HasPrefix(name, "."+FolderName+".old-")) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
			os.RemoveAll(filepath.Join(cacheRoot, name))
		}
	}
}
