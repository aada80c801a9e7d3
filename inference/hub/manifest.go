package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sensenova/studio/internal/atomicfile"
)

// Manifest is written into a destination folder after its last file was
// verified and put in place; a folder without one is not complete.
type Manifest struct {
	Version   int       `json:"version"`
	Repo      string    `json:"repo"`
	Revision  string    `json:"revision"`
	Commit    string    `json:"commit"`
	Endpoint  string    `json:"endpoint"`
	Completed time.Time `json:"completed"`
	Files     []File    `json:"files"`
}

const manifestVersion = 1

// readManifest reads dir's manifest; (nil, nil) when there is none.
func readManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, manifestName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Version != manifestVersion || m.Repo == "" {
		return nil, fmt.Errorf("hub: %s is not a download manifest of version %d", p, manifestVersion)
	}
	return &m, nil
}

func writeManifest(dir string, m Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, manifestName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("hub: writing the manifest: %w", err)
	}
	return nil
}

// entry is the manifest's record of a file, if any.
func (m *Manifest) entry(name string) (File, bool) {
	if m == nil {
		return File{}, false
	}
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// sameContent reports whether two records describe the same bytes.
func sameContent(a, b File) bool {
	if a.Size != b.Size {
		return false
	}
	switch {
	case a.SHA256 != "" || b.SHA256 != "":
		return a.SHA256 == b.SHA256
	case a.BlobID != "" || b.BlobID != "":
		return a.BlobID == b.BlobID
	}
	return false // nothing but a size: not enough to skip a download
}

// missingFiles lists the files that are absent from dir or have another
// size.
func missingFiles(dir string, files []File) []string {
	var out []string
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil || !st.Mode().IsRegular() || st.Size() != f.Size {
			out = append(out, f.Name)
		}
	}
	return out
}

// State is what a folder holds, as far as downloads go.
type State struct {
	// Complete: a manifest is present and every file it lists is there
	// with its size.
	Complete bool `json:"complete"`
	// Manifest is the folder's manifest, nil when it has none.
	Manifest *Manifest `json:"manifest,omitempty"`
	// Missing lists the manifest's files that are absent or resized.
	Missing []string `json:"missing,omitempty"`
	// PartialFiles and PartialBytes describe an interrupted download: the
	// files with recorded ranges and how many bytes those hold.
	PartialFiles int   `json:"partial_files"`
	PartialBytes int64 `json:"partial_bytes"`
}

// Inspect reports what dir holds: a complete download (with its manifest),
// or an interrupted one and how far it got. It reads no file contents; a
// folder that does not exist is simply empty.
func Inspect(dir string) (State, error) {
	var st State
	m, err := readManifest(dir)
	if err != nil {
		return st, err
	}
	if m != nil {
		st.Manifest = m
		st.Missing = missingFiles(dir, m.Files)
		st.Complete = len(st.Missing) == 0
	}
	root := filepath.Join(dir, partDirName)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, sidecarSuffix) {
			return nil
		}
		ps, err := readPartState(p)
		if err != nil {
			return nil // an unreadable sidecar is ignored (and replaced by the next run)
		}
		if done, ok := spansFrom(ps.Done, ps.Size); ok {
			st.PartialFiles++
			st.PartialBytes += done.covered()
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("hub: reading %s: %w", root, err)
	}
	return st, nil
}
