// Package atomicfile writes files so that readers see either the old content
// or the complete new content, never a partial file: data goes to a
// temporary file in the destination's folder, is synced, and is renamed over
// the destination. Settings, history records, images and tensors written by
// the app all go through it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is a pending replacement of a destination file.
type File struct {
	*os.File
	dest string
	done bool
}

// Create starts writing a replacement for path. Call Commit to put it in
// place, or Abort to discard it; Abort after Commit does nothing, so
// `defer f.Abort()` is safe.
func Create(path string) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	return &File{File: tmp, dest: path}, nil
}

// Commit syncs and closes the temporary file and renames it over the
// destination.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("atomicfile %s: already committed or aborted", f.dest)
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.dest)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("atomicfile %s: %w", f.dest, err)
	}
	return nil
}

// Abort discards the temporary file, leaving the destination untouched.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile replaces path with data atomically, creating the folder if
// needed.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("atomicfile %s: %w", path, err)
	}
	return f.Commit()
}
