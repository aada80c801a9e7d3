package app

import (
	"crypto/rand"
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
	"sync"
	"time"

	"github.com/sensenova/studio/inference/protocol"
	"github.com/sensenova/studio/internal/atomicfile"
)

// Entry is one result in the history: its pictures (and copies of its input
// pictures) next to a JSON record holding everything needed to show it and
// to run it again.
type Entry struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Task is the protocol op: t2i, edit, interleave or vqa.
	Task   string `json:"task"`
	Prompt string `json:"prompt"`
	// Pictures and Inputs are file names inside the history folder.
	Pictures  []string `json:"pictures,omitempty"`
	Inputs    []string `json:"inputs,omitempty"`
	ThinkText string   `json:"think_text,omitempty"`
	Answer    string   `json:"answer,omitempty"`
	// Text is a storyboard's text with "<image>" where each picture goes.
	Text    string  `json:"text,omitempty"`
	Seconds float64 `json:"seconds"`
	Model   string  `json:"model"`
	// Request is what was sent to the engine (its input paths point at the
	// copies in Inputs), so Rerun can send it again.
	Request protocol.Request `json:"request"`
	// Parameters is the record the pictures carry (see package record).
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// History is the folder of results. Every entry is written atomically: its
// files first, its JSON record last, so an interrupted save never shows up
// half-made. Deleting moves an entry to a trash folder, from which Undo
// brings it back; the trash is emptied when the history is opened again.
type History struct {
	dir string
	mu  sync.Mutex
}

const (
	trashDir  = ".trash"
	recordExt = ".json"
)

// OpenHistory opens (creating if needed) the history folder dir and empties
// its trash from earlier runs.
func OpenHistory(dir string) (*History, error) {
	if dir == "" {
		return nil, errors.New("history: no folder given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("history %s: %w", dir, err)
	}
	os.RemoveAll(filepath.Join(dir, trashDir))
	return &History{dir: dir}, nil
}

// DefaultHistoryDir is the Pictures folder's "SenseNova Studio" (or the home
// folder's when there is no Pictures folder).
func DefaultHistoryDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("history: no home folder: %w", err)
	}
	pics := filepath.Join(home, "Pictures")
	if fi, err := os.Stat(pics); err == nil && fi.IsDir() {
		return filepath.Join(pics, "SenseNova Studio"), nil
	}
	return filepath.Join(home, "SenseNova Studio"), nil
}

// Dir is the history folder.
func (h *History) Dir() string { return h.dir }

// newID is a sortable, unique entry id: time plus random bits.
func newID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return t.Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Add stores a finished result: the engine's result pictures (moved in from
// the session folder) and copies of the input pictures, then the record.
// The entry returned has its file names, Created and ID filled in; e's
// Request images are rewritten to the copies.
func (h *History) Add(e Entry, results, inputs []string) (Entry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	e.ID = newID(e.Created)
	var made []string     // copies to remove on failure
	var moved [][2]string // (from, to) to move back on failure
	undo := func() {
		for _, p := range made {
			os.Remove(p)
		}
		for _, m := range moved {
			moveFile(m[1], m[0])
		}
	}
	e.Pictures, e.Inputs = nil, nil
	for k, src := range results {
		name := fmt.Sprintf("%s-%d%s", e.ID, k, strings.ToLower(filepath.Ext(src)))
		if err := moveFile(src, filepath.Join(h.dir, name)); err != nil {
			undo()
			return Entry{}, fmt.Errorf("history: saving %s: %w", src, err)
		}
		moved = append(moved, [2]string{src, filepath.Join(h.dir, name)})
		e.Pictures = append(e.Pictures, name)
	}
	for k, src := range inputs {
		name := fmt.Sprintf("%s-input-%d%s", e.ID, k, strings.ToLower(filepath.Ext(src)))
		if err := copyFile(src, filepath.Join(h.dir, name)); err != nil {
			undo()
			return Entry{}, fmt.Errorf("history: copying input %s: %w", src, err)
		}
		made = append(made, filepath.Join(h.dir, name))
		e.Inputs = append(e.Inputs, name)
	}
	if len(e.Request.Images) == len(e.Inputs) {
		e.Request.Images = make([]string, len(e.Inputs))
		for k, name := range e.Inputs {
			e.Request.Images[k] = filepath.Join(h.dir, name)
		}
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(h.dir, e.ID+recordExt), append(data, '\n'), 0o644)
	}
	if err != nil {
		undo()
		return Entry{}, fmt.Errorf("history: writing the record: %w", err)
	}
	return e, nil
}

// List returns the entries, newest first. Unreadable records are skipped and
// counted in bad.
func (h *History) List() (entries []Entry, bad int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ents, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, 0, fmt.Errorf("history %s: %w", h.dir, err)
	}
	for _, de := range ents {
		if de.IsDir() || !strings.HasSuffix(de.Name(), recordExt) || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(h.dir, de.Name()))
		var e Entry
		if err == nil {
			err = json.Unmarshal(data, &e)
		}
		if err != nil || e.ID == "" {
			bad++
			continue
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].Created.Equal(entries[j].Created) {
			return entries[i].Created.After(entries[j].Created)
		}
		return entries[i].ID > entries[j].ID
	})
	return entries, bad, nil
}

// Path returns the full path of one of an entry's files.
func (h *History) Path(name string) string { return filepath.Join(h.dir, name) }

// Delete moves an entry's files to the trash and returns a function that
// puts them back (valid until the history is reopened).
func (h *History) Delete(e Entry) (undo func() error, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	trash := filepath.Join(h.dir, trashDir, e.ID)
	if err := os.MkdirAll(trash, 0o755); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	names := append([]string{e.ID + recordExt}, append(e.Pictures, e.Inputs...)...)
	var moved []string
	for _, n := range names {
		if err := os.Rename(filepath.Join(h.dir, n), filepath.Join(trash, n)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			for _, m := range moved {
				os.Rename(filepath.Join(trash, m), filepath.Join(h.dir, m))
			}
			return nil, fmt.Errorf("history: deleting %s: %w", n, err)
		}
		moved = append(moved, n)
	}
	return func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		// The record goes back last, so the entry reappears whole.
		for i := len(moved) - 1; i >= 0; i-- {
			if err := os.Rename(filepath.Join(trash, moved[i]), filepath.Join(h.dir, moved[i])); err != nil {
				return fmt.Errorf("history: restoring %s: %w", moved[i], err)
			}
		}
		return os.Remove(trash)
	}, nil
}

// moveFile renames src to dst, copying when they are on different file
// systems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	return os.Remove(src)
}

// copyFile copies src to dst atomically.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(dst)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Commit()
}
