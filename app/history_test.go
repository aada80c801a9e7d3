package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sensenova/studio/inference/protocol"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHistoryAddListDeleteUndo(t *testing.T) {
	h, err := OpenHistory(filepath.Join(t.TempDir(), "history"))
	if err != nil {
		t.Fatal(err)
	}
	session := t.TempDir()
	in := writeFile(t, filepath.Join(t.TempDir(), "input.PNG"), "input picture")
	res := writeFile(t, filepath.Join(session, "7-0.png"), "result picture")
	first, err := h.Add(Entry{Task: "edit", Prompt: "make it blue", Created: time.Unix(100, 0),
		Request: protocol.Request{Op: "edit", Prompt: "make it blue", Images: []string{in}, Seed: 9}}, []string{res}, []string{in})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(res); !os.IsNotExist(err) {
		t.Error("the session picture was not moved into the history")
	}
	if got, _ := os.ReadFile(h.Path(first.Pictures[0])); string(got) != "result picture" {
		t.Errorf("stored picture %q", got)
	}
	if got, _ := os.ReadFile(h.Path(first.Inputs[0])); string(got) != "input picture" {
		t.Errorf("stored input %q", got)
	}
	if first.Request.Images[0] != h.Path(first.Inputs[0]) {
		t.Errorf("the re-run request points at %q, want the history copy", first.Request.Images[0])
	}
	second, err := h.Add(Entry{Task: "t2i", Prompt: "a fox", Created: time.Unix(200, 0)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A stray file and a corrupt record do not break the listing.
	writeFile(t, filepath.Join(h.Dir(), "notes.txt"), "x")
	writeFile(t, filepath.Join(h.Dir(), "broken.json"), "{")
	list, bad, err := h.List()
	if err != nil || bad != 1 || len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Fatalf("list %v bad %d err %v", list, bad, err)
	}

	undo, err := h.Delete(first)
	if err != nil {
		t.Fatal(err)
	}
	if list, _, _ := h.List(); len(list) != 1 {
		t.Fatalf("after delete: %d entries", len(list))
	}
	if _, err := os.Stat(h.Path(first.Pictures[0])); !os.IsNotExist(err) {
		t.Error("the deleted entry's picture is still in the folder")
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	list, _, _ = h.List()
	if len(list) != 2 {
		t.Fatalf("after undo: %d entries", len(list))
	}
	if got, _ := os.ReadFile(h.Path(first.Pictures[0])); string(got) != "result picture" {
		t.Errorf("restored picture %q", got)
	}
	// Reopening empties the trash: a deletion is final after a restart.
	if _, err := h.Delete(second); err != nil {
		t.Fatal(err)
	}
	h2, err := OpenHistory(h.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h2.Dir(), trashDir)); !os.IsNotExist(err) {
		t.Error("the trash survived reopening")
	}
}

func TestHistoryAddFailureLeavesNoRecord(t *testing.T) {
	h, err := OpenHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, filepath.Join(t.TempDir(), "0.png"), "ok")
	if _, err := h.Add(Entry{Task: "t2i"}, []string{good, "/no/such/picture.png"}, nil); err == nil {
		t.Fatal("adding a missing picture must fail")
	}
	ents, _ := os.ReadDir(h.Dir())
	for _, e := range ents {
		t.Errorf("a failed add left %s behind", e.Name())
	}
	if got, err := os.ReadFile(good); err != nil || string(got) != "ok" {
		t.Errorf("the picture moved in before the failure was not put back: %q, %v", got, err)
	}
}
