package ui

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
)

// editTestScreen opens the window on the demo model, shows the Edit tab and
// waits for the demo model's defaults. Entries the screen saves arrive on
// the returned channel (through env.added, as the History screen gets them).
func editTestScreen(t *testing.T) (*Window, *app.Studio, *editScreen, chan app.Entry) {
	t.Helper()
	w, studio := newTestWindow(t)
	s := w.Screen(tabEdit).(*editScreen)
	added := make(chan app.Entry, 16)
	fyne.DoAndWait(func() {
		w.Select(tabEdit)
		w.Resize(fyne.NewSize(1180, 800))
		prev := w.env.added
		w.env.added = func(e app.Entry) {
			if prev != nil {
				prev(e)
			}
			added <- e
		}
	})
	eventually(t, 10*time.Second, "the demo model's defaults", func() bool { return s.demoKnown })
	return w, studio, s, added
}

// editWritePNG writes a w×h picture whose colour depends on c (a gradient,
// so resizing and sub-pictures are visible).
func editWritePNG(t *testing.T, dir, name string, w, h int, c color.NRGBA) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: c.R, G: uint8(int(c.G) + x*60/w), B: uint8(int(c.B) + y*60/h), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func editURIs(paths ...string) []fyne.URI {
	var out []fyne.URI
	for _, p := range paths {
		out = append(out, storage.NewFileURI(p))
	}
	return out
}

// editButtons returns the buttons under o, in order.
func editButtons(o fyne.CanvasObject) []*widget.Button {
	var out []*widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Button:
			out = append(out, x)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// editRowButtons returns the up, down and remove buttons of row i, or
// false (and the test's error) when the row lacks them. It runs on the UI
// goroutine, where t.Fatal must not be called.
func editRowButtons(t *testing.T, s *editScreen, i int) (up, down, del *widget.Button, ok bool) {
	t.Helper()
	b := editButtons(s.list.Objects[i])
	if len(b) != 3 {
		t.Errorf("row %d has %d buttons, want up, down and remove", i+1, len(b))
		return nil, nil, nil, false
	}
	return b[0], b[1], b[2], true
}

// editListed returns the file names of the list, checking the order
// numbers shown beside them.
func editListed(t *testing.T, s *editScreen) []string {
	t.Helper()
	var names []string
	fyne.DoAndWait(func() {
		for i, row := range s.list.Objects {
			ls := labels(row) // the name, its size, then the number
			if len(ls) != 3 || ls[2] != strconv.Itoa(i+1) {
				t.Errorf("row %d shows %q, want its name, size and number %d", i+1, ls, i+1)
				continue
			}
			names = append(names, ls[0])
		}
	})
	return names
}

func editSame(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

func TestEditPicturesAddReorderRemove(t *testing.T) {
	w, _, s, _ := editTestScreen(t)
	dir := t.TempDir()
	a := editWritePNG(t, dir, "a.png", 40, 30, color.NRGBA{R: 220})
	b := editWritePNG(t, dir, "b.png", 64, 64, color.NRGBA{G: 120})
	c := editWritePNG(t, dir, "c.png", 50, 70, color.NRGBA{B: 180})
	bad := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(bad, []byte("not a picture at all"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Dropping: the undecodable file is refused with a message naming it,
	// the others keep the order they were dropped in.
	fyne.DoAndWait(func() { s.handleDrop(editURIs(a, bad, b)) })
	eventually(t, 5*time.Second, "two pictures added", func() bool { return len(s.pics) == 2 })
	fyne.DoAndWait(func() {
		if !s.picsMsg.Visible() || !strings.Contains(s.picsMsg.Text, "notes.png was not added") {
			t.Errorf("the undecodable file is not reported: %q", s.picsMsg.Text)
		}
	})
	if got := editListed(t, s); !editSame(got, []string{"a.png", "b.png"}) {
		t.Errorf("list %v, want a.png b.png", got)
	}

	// Pasting a file:// address (and text that is no file).
	fyne.DoAndWait(func() {
		w.env.app.Clipboard().SetContent("hello there")
		test.Tap(s.pasteBtn)
	})
	eventually(t, 5*time.Second, "the pasted text refused", func() bool {
		return strings.Contains(s.picsMsg.Text, "not a picture file")
	})
	fyne.DoAndWait(func() {
		w.env.app.Clipboard().SetContent(storage.NewFileURI(c).String() + "\n")
		test.Tap(s.pasteBtn)
	})
	eventually(t, 5*time.Second, "the pasted picture added", func() bool { return len(s.pics) == 3 })
	if got := editListed(t, s); !editSame(got, []string{"a.png", "b.png", "c.png"}) {
		t.Errorf("list %v, want a.png b.png c.png", got)
	}
	fyne.DoAndWait(func() {
		if s.picsMsg.Visible() {
			t.Errorf("a message stays after a good paste: %q", s.picsMsg.Text)
		}
		if !strings.Contains(s.sizeNote.Text, "608 × 448") {
			t.Errorf("the output size of a 40×30 first picture reads %q, want 608 × 448 (smart_resize at 512² pixels on the demo model)", s.sizeNote.Text)
		}
	})

	// Reordering and removing.
	onUI(t, func() bool {
		up, _, _, ok := editRowButtons(t, s, 2)
		if ok {
			test.Tap(up) // c before b
		}
		return ok
	})
	if got := editListed(t, s); !editSame(got, []string{"a.png", "c.png", "b.png"}) {
		t.Errorf("after moving c.png up: %v, want a.png c.png b.png", got)
	}
	onUI(t, func() bool {
		up, down, del, ok := editRowButtons(t, s, 0)
		if !ok {
			return false
		}
		if !up.Disabled() || down.Disabled() {
			t.Error("the first row's up button should be off and its down button on")
		}
		test.Tap(del) // a goes
		return true
	})
	if got := editListed(t, s); !editSame(got, []string{"c.png", "b.png"}) {
		t.Errorf("after removing a.png: %v, want c.png b.png", got)
	}

	// What Edit sends has the same order; invalid fields are caught first.
	onUI(t, func() bool {
		test.Tap(s.generate)
		if !strings.Contains(s.errLabel.Text, "instruction") || s.isRunning() {
			t.Errorf("an empty instruction is not caught: %q", s.errLabel.Text)
		}
		test.Type(s.prompt, "put Image-1 on the left of Image-2")
		s.sizeMode.SetSelected(editSizeCustom)
		s.width.SetText("100")
		s.height.SetText("64")
		test.Tap(s.generate)
		if !strings.Contains(s.errLabel.Text, "100 is not a multiple of 32: use 96 or 128") || s.isRunning() {
			t.Errorf("a width of 100 is not caught: %q", s.errLabel.Text)
		}
		s.width.SetText("96")
		req, err := s.request()
		if err != nil {
			t.Error(err)
			return false
		}
		if !editSame(req.Images, []string{c, b}) || req.Width != 96 || req.Height != 64 || req.Seed == 0 {
			t.Errorf("request images %v size %d×%d seed %d, want [c b] 96×64 and a seed", req.Images, req.Width, req.Height, req.Seed)
		}
		return true
	})

	// A folder, and more pictures than one edit takes.
	var many []string
	for range maxEditPictures {
		many = append(many, a)
	}
	fyne.DoAndWait(func() { s.handleDrop(editURIs(append([]string{dir}, many...)...)) })
	eventually(t, 10*time.Second, "the list full", func() bool { return len(s.pics) == maxEditPictures })
	fyne.DoAndWait(func() {
		if !strings.Contains(s.picsMsg.Text, "is a folder") || !strings.Contains(s.picsMsg.Text, "At most 64 pictures can be edited together: 2 picture(s) were not added") {
			t.Errorf("the folder and the pictures over 64 are not explained: %q", s.picsMsg.Text)
		}
	})
}

// editRun presses Edit and waits for the result (or the failure); it
// returns the entry saved.
func editRun(t *testing.T, s *editScreen, added chan app.Entry) app.Entry {
	t.Helper()
	var refused string
	fyne.DoAndWait(func() {
		test.Tap(s.generate)
		if !s.isRunning() && s.errLabel.Visible() {
			refused = s.errLabel.Text
		}
	})
	if refused != "" {
		t.Fatalf("Edit refused: %s", refused)
	}
	eventually(t, 60*time.Second, "the edit to end", func() bool { return !s.isRunning() })
	var msg, progress string
	fyne.DoAndWait(func() { msg, progress = s.errLabel.Text, s.progress.label.Text })
	if !strings.HasPrefix(progress, "done in") {
		t.Fatalf("the edit did not finish: progress %q, message %q", progress, msg)
	}
	select {
	case e := <-added:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("the History screen was not told of the result")
	}
	return app.Entry{}
}

func editRecordInputs(t *testing.T, e app.Entry) []string {
	t.Helper()
	var rec struct {
		Inputs []string `json:"inputs"`
		Seed   int64    `json:"seed"`
	}
	if err := json.Unmarshal(e.Parameters, &rec); err != nil {
		t.Fatalf("the entry's parameters: %v", err)
	}
	if rec.Seed != e.Request.Seed {
		t.Errorf("the picture's record has seed %d, the request %d", rec.Seed, e.Request.Seed)
	}
	return rec.Inputs
}

func editSameImage(a, b image.Image) bool {
	if a == nil || b == nil || a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if compareNRGBA(a).NRGBAAt(x, y) != compareNRGBA(b).NRGBAAt(x, y) {
				return false
			}
		}
	}
	return true
}

func TestEditRunCompareSeedsLoadCancel(t *testing.T) {
	w, studio, s, added := editTestScreen(t)
	dir := t.TempDir()
	in := editWritePNG(t, dir, "in.png", 96, 64, color.NRGBA{R: 200, G: 40, B: 20})
	fyne.DoAndWait(func() { s.handleDrop(editURIs(in)) })
	eventually(t, 5*time.Second, "the picture added", func() bool { return len(s.pics) == 1 })
	fyne.DoAndWait(func() {
		test.Type(s.prompt, "make it blue")
		s.sizeMode.SetSelected(editSizeCustom)
		s.width.SetText("64")
		s.height.SetText("64")
		s.steps.SetText("2")
		if s.cfg.Text != "4" || s.imgCfg.Text != "1" || s.norm.Selected != "none" || s.lockSeed.Checked {
			t.Errorf("defaults: text guidance %q, image guidance %q, rescale %q, seed kept %v; want 4, 1, none, a fresh seed",
				s.cfg.Text, s.imgCfg.Text, s.norm.Selected, s.lockSeed.Checked)
		}
		s.cfg.SetText("1") // one guidance branch, to keep the test short (the screenshot runs the defaults)
	})

	// The first edit: the result from the history, next to the input.
	e1 := editRun(t, s, added)
	if e1.Task != "edit" || len(e1.Inputs) != 1 || len(e1.Pictures) != 1 {
		t.Fatalf("entry: task %q, inputs %v, pictures %v", e1.Task, e1.Inputs, e1.Pictures)
	}
	if _, err := os.Stat(studio.History().Path(e1.Inputs[0])); err != nil {
		t.Errorf("the history has no copy of the input: %v", err)
	}
	if got := editRecordInputs(t, e1); !editSame(got, []string{in}) {
		t.Errorf("the edit was sent %v, want [%s]", got, in)
	}
	shown, err := app.ReadPicture(studio.History().Path(e1.Pictures[0]))
	if err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() {
		if !editSameImage(s.after.Image(), shown) {
			t.Error("the result view does not show the history's picture")
		}
		if b := s.before.Image(); b == nil || b.Bounds().Dx() != 64 || b.Bounds().Dy() != 64 {
			t.Errorf("the input shown for comparison is %v, want the first picture at the result's 64×64", b)
		}
		if s.seed.Text != strconv.FormatInt(e1.Request.Seed, 10) || e1.Request.Seed == 0 {
			t.Errorf("the seed field says %q, the edit used %d", s.seed.Text, e1.Request.Seed)
		}
		if !strings.Contains(s.progress.label.Text, "seed "+strconv.FormatInt(e1.Request.Seed, 10)) {
			t.Errorf("progress %q does not name the seed", s.progress.label.Text)
		}
	})

	// Zooming one view zooms the other: they share one View, and both
	// show the same part of their pictures.
	onUI(t, func() bool {
		if s.before.View() != s.after.View() || s.compare.view != s.after.View() {
			t.Error("the before, after and slider views do not share one View")
			return false
		}
		s.after.ZoomIn()
		s.after.ZoomIn()
		return true
	})
	eventually(t, 5*time.Second, "the before view following the zoom", func() bool {
		bi, ai := s.before.raster.Image, s.after.raster.Image
		return s.before.View().Zoom() > 1.9 && bi != nil && ai != nil &&
			bi.Bounds() == ai.Bounds() && bi.Bounds().Dx() < 64
	})
	fyne.DoAndWait(func() { s.before.DoubleTapped(nil) })
	eventually(t, 5*time.Second, "both fitted again", func() bool {
		return s.after.View().Zoom() == 1 && s.zoomLabel.Text == "Fit"
	})

	// The before/after slider: the slider and a drag on the divider move
	// it; left of it the input, right of it the result.
	fyne.DoAndWait(func() {
		s.layout.SetSelected(editLayoutSlider)
		if !s.sliderBox.Visible() || s.sideBySide.Visible() {
			t.Error("the layout toggle does not switch to the slider")
		}
	})
	onUI(t, func() bool {
		s.slider.SetValue(0.25)
		if s.compare.Split() != 0.25 {
			t.Errorf("the slider at 0.25 puts the divider at %v", s.compare.Split())
		}
		size := s.compare.Size()
		if size.Width < 200 {
			t.Errorf("the slider view is %v wide", size)
			return false
		}
		pos, dst := s.compare.shown()
		if math.Abs(float64(s.compare.dividerX()-(pos.X+0.25*dst.Width))) > 0.5 {
			t.Errorf("the divider is at x %v, want a quarter into the picture (%v + %v/4)", s.compare.dividerX(), pos.X, dst.Width)
		}
		from := fyne.NewPos(pos.X+0.25*dst.Width+4, size.Height/2)
		to := fyne.NewPos(pos.X+0.7*dst.Width, size.Height/2)
		s.compare.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: to}, Dragged: fyne.Delta{DX: to.X - from.X}})
		s.compare.DragEnd()
		if f := s.compare.Split(); math.Abs(float64(f)-0.7) > 0.01 || math.Abs(s.slider.Value-0.7) > 0.01 {
			t.Errorf("dragging the divider to 70%%: divider %v, slider %v", f, s.slider.Value)
		}
		// A drag away from the divider pans (at zoom > 1) and leaves it.
		s.compare.Scrolled(&fyne.ScrollEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(size.Width/2, size.Height/2)}, Scrolled: fyne.Delta{DY: 400}})
		if s.view.Zoom() <= 1 {
			t.Error("the wheel over the slider view does not zoom the shared view")
		}
		_, c0 := s.view.get()
		s.compare.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(30, 40)}, Dragged: fyne.Delta{DX: 20, DY: 10}})
		s.compare.DragEnd()
		if _, c1 := s.view.get(); c1 == c0 || math.Abs(float64(s.compare.Split())-0.7) > 0.01 {
			t.Errorf("a drag away from the divider: centre %v → %v, divider %v", c0, c1, s.compare.Split())
		}
		s.view.Reset()
		return true
	})
	onUI(t, func() bool {
		size := s.compare.Size()
		before, after := s.compare.Images()
		wpx, hpx := int(size.Width), int(size.Height)
		out := s.compare.draw(wpx, hpx).(*image.NRGBA)
		src, pos, dst := visible(after, size, 1, fyne.Position{})
		perX, perY := size.Width/float32(wpx), size.Height/float32(hpx)
		y := hpx / 2
		py := src.Min.Y + int(((float32(y)+0.5)*perY-pos.Y)*float32(src.Dy())/dst.Height)
		divide := int(math.Round(float64((pos.X + s.compare.Split()*dst.Width) / perX)))
		var left, right, differ int
		for x := int(pos.X/perX) + 1; x < int((pos.X+dst.Width)/perX)-1; x++ {
			px := src.Min.X + int(((float32(x)+0.5)*perX-pos.X)*float32(src.Dx())/dst.Width)
			want := compareNRGBA(after).NRGBAAt(px, py)
			other := compareNRGBA(before).NRGBAAt(px, py)
			if x < divide {
				want, other = other, want
				left++
			} else {
				right++
			}
			if got := out.NRGBAAt(x, y); got != want {
				t.Errorf("slider pixel (%d, %d) is %v, want %v (divider at %d)", x, y, got, want, divide)
				return false
			}
			if want != other {
				differ++
			}
		}
		if left == 0 || right == 0 || differ == 0 {
			t.Errorf("the check saw %d pixels left and %d right of the divider, %d differing", left, right, differ)
		}
		return true
	})

	// A second edit gets a fresh seed.
	e2 := editRun(t, s, added)
	if e2.Request.Seed == e1.Request.Seed || e2.Request.Seed == 0 {
		t.Errorf("two edits used seeds %d and %d, want a fresh one each", e1.Request.Seed, e2.Request.Seed)
	}

	// Editing the result with the seed that made it is warned about.
	fyne.DoAndWait(func() { test.Tap(s.useResult) })
	eventually(t, 5*time.Second, "the result as the picture to edit", func() bool {
		return len(s.pics) == 1 && s.pics[0].path == studio.History().Path(e2.Pictures[0])
	})
	fyne.DoAndWait(func() {
		s.lockSeed.SetChecked(true)
		if s.seed.Text != strconv.FormatInt(e2.Request.Seed, 10) {
			t.Errorf("keeping the seed shows %q, want the last one, %d", s.seed.Text, e2.Request.Seed)
		}
		if !s.seedWarn.Visible() || !strings.Contains(s.seedWarn.Text, "was made with seed") {
			t.Errorf("no warning when the kept seed made the picture: %q", s.seedWarn.Text)
		}
		s.seed.SetText("12345")
		if s.seedWarn.Visible() {
			t.Error("the warning stays with another seed")
		}
		s.seed.SetText(strconv.FormatInt(e2.Request.Seed, 10))
		s.lockSeed.SetChecked(false)
		if s.seedWarn.Visible() {
			t.Error("the warning stays with a fresh seed")
		}
		req, err := s.request()
		if err != nil || req.Seed == e2.Request.Seed {
			t.Errorf("a fresh seed %d (err %v) for a picture made with %d", req.Seed, err, e2.Request.Seed)
		}
	})

	// Loading the first entry re-runs it exactly.
	fyne.DoAndWait(func() { s.load(e1) })
	eventually(t, 5*time.Second, "the entry's pictures", func() bool {
		return len(s.pics) == 1 && s.pics[0].path == studio.History().Path(e1.Inputs[0])
	})
	fyne.DoAndWait(func() {
		if s.prompt.Text != "make it blue" || s.cfg.Text != "1" || !s.lockSeed.Checked || s.seed.Text != strconv.FormatInt(e1.Request.Seed, 10) ||
			s.width.Text != "64" || s.height.Text != "64" || s.steps.Text != "2" {
			t.Errorf("loaded: prompt %q, guidance %q, seed %q (kept %v), %s×%s, %s steps",
				s.prompt.Text, s.cfg.Text, s.seed.Text, s.lockSeed.Checked, s.width.Text, s.height.Text, s.steps.Text)
		}
	})
	e3 := editRun(t, s, added)
	if e3.Request.Seed != e1.Request.Seed {
		t.Errorf("the re-run used seed %d, want %d", e3.Request.Seed, e1.Request.Seed)
	}
	again, err := app.ReadPicture(studio.History().Path(e3.Pictures[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !editSameImage(shown, again) {
		t.Error("re-running the loaded entry gave another picture")
	}

	// Esc cancels within a step; nothing is saved.
	fyne.DoAndWait(func() {
		s.steps.SetText("1000")
		s.lockSeed.SetChecked(false)
		test.Tap(s.generate)
	})
	eventually(t, 60*time.Second, "the steps to start", func() bool {
		return strings.HasPrefix(s.progress.label.Text, "step ") && s.after.Image() != nil
	})
	fyne.DoAndWait(func() { w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape}) })
	eventually(t, 30*time.Second, "the edit cancelled", func() bool {
		return !s.isRunning() && s.progress.label.Text == "Cancelled." && !s.generate.Disabled() && s.cancel.Disabled()
	})
	fyne.DoAndWait(func() {
		if s.errLabel.Visible() {
			t.Errorf("a cancelled edit shows an error: %q", s.errLabel.Text)
		}
	})
	select {
	case e := <-added:
		t.Errorf("a cancelled edit was saved: %s", e.ID)
	case <-time.After(200 * time.Millisecond):
	}
	eventually(t, 5*time.Second, "the last result shown again", func() bool {
		return editSameImage(s.after.Image(), again)
	})
}

func TestScreenshotEdit(t *testing.T) {
	w, _, s, added := editTestScreen(t)
	dir := t.TempDir()
	// A small landscape: sky, sun, hills.
	img := image.NewNRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			c := color.NRGBA{R: uint8(90 + y/3), G: uint8(150 + y/4), B: 235, A: 255}
			if dx, dy := x-230, y-70; dx*dx+dy*dy < 900 {
				c = color.NRGBA{R: 255, G: 214, B: 90, A: 255}
			}
			if float64(y) > 170+18*math.Sin(float64(x)/40) {
				c = color.NRGBA{R: 60, G: uint8(120 + y/6), B: 60, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	land := filepath.Join(dir, "hills.png")
	os.WriteFile(land, buf.Bytes(), 0o644)
	fyne.DoAndWait(func() {
		s.handleDrop(editURIs(land))
		test.Type(s.prompt, "make it a winter evening, snow on the hills")
	})
	eventually(t, 5*time.Second, "the picture added", func() bool { return len(s.pics) == 1 })
	editRun(t, s, added) // the demo defaults: 608×448, 12 steps
	ref := editWritePNG(t, dir, "snow-reference.png", 200, 200, color.NRGBA{R: 230, G: 180, B: 190})
	fyne.DoAndWait(func() { s.handleDrop(editURIs(ref)) })
	eventually(t, 5*time.Second, "the second picture added", func() bool { return len(s.pics) == 2 })

	shot := func(name string) {
		var capture image.Image
		fyne.DoAndWait(func() {
			w.Content().Refresh()
			capture = w.Canvas().Capture()
		})
		if b, n := capture.Bounds(), distinctColours(capture, 4); b.Dx() < 1000 || n < 50 {
			t.Errorf("%s: capture %v with %d colours looks blank", name, b, n)
		}
		saveScreenshot(t, capture, name)
	}
	shot("edit")
	fyne.DoAndWait(func() {
		s.layout.SetSelected(editLayoutSlider)
		s.slider.SetValue(0.45)
	})
	shot("edit-compare")
}
