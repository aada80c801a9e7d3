package ui

import (
	"errors"
	"image"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// historyRun runs a task on the real engine through the studio and tells
// the window's History screen of the entry, as a screen would.
func historyRun(t *testing.T, w *Window, studio *app.Studio, req protocol.Request) app.Entry {
	t.Helper()
	done := make(chan app.Entry, 1)
	failed := make(chan string, 1)
	_, err := studio.Run(req, app.Callbacks{
		Done: func(e app.Entry) {
			fyne.Do(func() { w.env.added(e) })
			done <- e
		},
		Failed: func(code, msg string) { failed <- code + ": " + msg },
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-done:
		return e
	case msg := <-failed:
		t.Fatalf("%s failed: %s", req.Op, msg)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no result after 60 s", req.Op)
	}
	return app.Entry{}
}

func historyT2I(prompt string, seed int64) protocol.Request {
	return protocol.Request{Op: protocol.OpTextImage, Prompt: prompt, Width: 64, Height: 64, Steps: 2, Seed: seed}
}

// historyGalleryTexts is what the gallery shows for each entry, in order.
func historyGalleryTexts(h *historyScreen) []string {
	var out []string
	for _, e := range h.entries {
		title, excerpt := historyGalleryText(e)
		out = append(out, title+" | "+excerpt)
	}
	return out
}

func historyHas(labels []string, sub string) bool {
	for _, l := range labels {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func historySelect(t *testing.T, h *historyScreen, id string) {
	t.Helper()
	i := -1
	fyne.DoAndWait(func() {
		if i = h.index(id); i >= 0 {
			h.grid.Select(i)
		}
	})
	if i < 0 {
		t.Fatalf("entry %s is not in the gallery", id)
	}
}

func TestHistoryGalleryDetailsAndActions(t *testing.T) {
	w, studio := newTestWindow(t)
	h := w.Screen(tabHistory).(*historyScreen)
	fyne.DoAndWait(func() {
		w.Select(tabHistory)
		w.Resize(fyne.NewSize(1180, 800))
	})

	fox := historyRun(t, w, studio, historyT2I("a red fox in the snow", 3))
	whale := historyRun(t, w, studio, historyT2I("a blue whale under the sea", 4))
	ask := historyRun(t, w, studio, protocol.Request{Op: protocol.OpVQA, Question: "What colour is this?",
		Images: []string{studio.History().Path(fox.Pictures[0])}, MaxNewTokens: 4})

	// The gallery lists the three, newest first, with their task and text.
	eventually(t, 10*time.Second, "the gallery lists 3 results", func() bool { return len(h.entries) == 3 })
	var texts []string
	var summary string
	fyne.DoAndWait(func() { texts, summary = historyGalleryTexts(h), h.summary.Text })
	if !strings.HasPrefix(texts[0], tabAsk) || !strings.Contains(texts[0], "What colour is this?") ||
		!strings.Contains(texts[1], "a blue whale") || !strings.Contains(texts[2], "a red fox") {
		t.Errorf("gallery %q, want the question, the whale, the fox", texts)
	}
	if !strings.Contains(summary, "3 results") {
		t.Errorf("summary %q", summary)
	}
	// Thumbnails load off the UI goroutine and are scaled down; the
	// question shows its input picture.
	eventually(t, 10*time.Second, "the thumbnails load", func() bool {
		for _, e := range []app.Entry{fox, whale, ask} {
			pics := historyPictures(e)
			if len(pics) == 0 || h.thumbShown(e, pics[0].name) == nil {
				return false
			}
		}
		return true
	})

	// Selecting shows the picture large and its details.
	historySelect(t, h, whale.ID)
	eventually(t, 10*time.Second, "the whale is shown large", func() bool { return h.shown == whale.Pictures[0] })
	fyne.DoAndWait(func() {
		if b := h.view.Image().Bounds(); b.Dx() != 64 || b.Dy() != 64 {
			t.Errorf("large view %v, want the 64×64 picture", b)
		}
		d := labels(h.details)
		for _, want := range []string{"a blue whale under the sea", tabCreate, "4", "2", "64 × 64"} {
			if !historyHas(d, want) {
				t.Errorf("details %q lack %q", d, want)
			}
		}
	})

	fyne.DoAndWait(func() {
		// Copy prompt puts it on the clipboard.
		test.Tap(h.copyBtn)
		if got := w.env.app.Clipboard().Content(); got != "a blue whale under the sea" {
			t.Errorf("clipboard %q", got)
		}
		// Re-run hands the entry to the window.
		var rerun []app.Entry
		w.env.rerun = func(e app.Entry) { rerun = append(rerun, e) }
		test.Tap(h.rerunBtn)
		if len(rerun) != 1 || rerun[0].ID != whale.ID || rerun[0].Request.Seed != 4 {
			t.Errorf("re-run got %+v, want the whale entry", rerun)
		}
		// Open shows the picture, Open folder the folder, in the system viewer.
		var opened []string
		h.openURL = func(u *url.URL) error { opened = append(opened, u.String()); return nil }
		test.Tap(h.openBtn)
		test.Tap(h.folderBtn)
		if len(opened) != 2 || !strings.HasSuffix(opened[0], whale.Pictures[0]) || !strings.HasPrefix(opened[0], "file://") ||
			!strings.HasSuffix(opened[1], filepath.Base(studio.History().Dir())) {
			t.Errorf("opened %q", opened)
		}
	})

	// The question shows its input picture and the answer.
	historySelect(t, h, ask.ID)
	eventually(t, 10*time.Second, "the question's input picture is shown", func() bool {
		return h.shown == ask.Inputs[0] && h.view.Image() != nil && historyHas(labels(h.details), "What colour is this?")
	})
	fyne.DoAndWait(func() {
		if ask.Answer != "" && !historyHas(labels(h.details), ask.Answer) {
			t.Errorf("details %q lack the answer %q", labels(h.details), ask.Answer)
		}
	})

	// Delete removes the entry from the gallery and the folder at once.
	historySelect(t, h, whale.ID)
	record := studio.History().Path(whale.ID + ".json")
	picture := studio.History().Path(whale.Pictures[0])
	fyne.DoAndWait(func() { test.Tap(h.deleteBtn) })
	// The next result (the fox) is shown, so several can be deleted in a row.
	eventually(t, 10*time.Second, "the next result is shown", func() bool { return h.shown == fox.Pictures[0] })
	fyne.DoAndWait(func() {
		if len(h.entries) != 2 || h.index(whale.ID) >= 0 {
			t.Errorf("after delete the gallery has %q", historyGalleryTexts(h))
		}
		if h.undoBar.Hidden || !strings.Contains(h.undoLabel.Text, "a blue whale") {
			t.Errorf("no undo offered: %q", h.undoLabel.Text)
		}
	})
	for _, p := range []string{record, picture} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists after delete (%v)", p, err)
		}
	}
	if list, _, _ := studio.History().List(); len(list) != 2 {
		t.Errorf("the folder lists %d entries after delete, want 2", len(list))
	}
	// Undo brings back both.
	fyne.DoAndWait(func() { test.Tap(h.undoBtn) })
	eventually(t, 10*time.Second, "the restored result is shown", func() bool { return h.shown == whale.Pictures[0] })
	fyne.DoAndWait(func() {
		if len(h.entries) != 3 || h.index(whale.ID) != 1 {
			t.Errorf("after undo the gallery has %q", historyGalleryTexts(h))
		}
		if h.selected == nil || h.selected.ID != whale.ID {
			t.Errorf("the restored entry is not selected")
		}
	})
	for _, p := range []string{record, picture} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s not restored: %v", p, err)
		}
	}

	// An unreadable record is counted.
	os.WriteFile(filepath.Join(studio.History().Dir(), "broken.json"), []byte("{not json"), 0o644)
	fyne.DoAndWait(h.refresh)
	eventually(t, 10*time.Second, "the unreadable record is counted", func() bool {
		return !h.listing && !h.badLabel.Hidden && strings.Contains(h.badLabel.Text, "1 record")
	})
}

// TestScreenshotHistory renders the History screen with results of the
// demo model, one of them selected.
func TestScreenshotHistory(t *testing.T) {
	w, studio := newTestWindow(t)
	h := w.Screen(tabHistory).(*historyScreen)
	fyne.DoAndWait(func() {
		w.Select(tabHistory)
		w.Resize(fyne.NewSize(1180, 800))
	})
	prompts := []string{"a lighthouse on a cliff at dusk", "a bowl of ramen, steam rising", "an orange cat asleep on a windowsill", "a watercolour map of an island"}
	var last app.Entry
	for k, p := range prompts {
		req := historyT2I(p, int64(10+k))
		req.Width, req.Height = 128, 96
		last = historyRun(t, w, studio, req)
	}
	historyRun(t, w, studio, protocol.Request{Op: protocol.OpVQA, Question: "What is in this picture?",
		Images: []string{studio.History().Path(last.Pictures[0])}, MaxNewTokens: 6})
	eventually(t, 10*time.Second, "the gallery lists 5 results", func() bool { return len(h.entries) == 5 })
	historySelect(t, h, last.ID)
	eventually(t, 10*time.Second, "the thumbnails and the picture load", func() bool {
		for _, e := range h.entries {
			if pics := historyPictures(e); len(pics) > 0 && h.thumbShown(e, pics[0].name) == nil {
				return false
			}
		}
		return h.shown == last.Pictures[0]
	})
	hgsScreenshot(t, w, "history")
}

// hgsScreenshot captures the window, checks it is not blank, and writes it
// to $SENSENOVA_SCREENSHOTS/<name>.png when that is set (shared by the
// History, GPU and Settings screenshots).
func hgsScreenshot(t *testing.T, w *Window, name string) {
	t.Helper()
	var img image.Image
	fyne.DoAndWait(func() {
		w.Content().Refresh()
		img = w.Canvas().Capture()
	})
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 700 {
		t.Errorf("the %s screenshot is %v, want the 1180×800 window", name, b)
	}
	// Not blank: many distinct colours.
	if n := distinctColours(img, 3); n < 20 {
		t.Fatalf("the %s screenshot looks blank (%d colours)", name, n)
	}
	saveScreenshot(t, img, name)
}
