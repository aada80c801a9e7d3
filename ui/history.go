package ui

import (
	"encoding/json"
	"fmt"
	"image"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/image/draw"

	"github.com/sensenova/studio/app"
)

// The History screen: every saved result as a gallery (newest first), one
// result large with its parameters, and what can be done with it (open,
// re-run, copy the prompt, delete with undo, open the folder).
//
// The list comes from app.History; pictures are decoded and thumbnails
// scaled on background goroutines, so a folder of large PNGs never stalls
// the window.

const (
	// historyThumbSide is the longer side of a gallery thumbnail in pixels
	// (twice its size on screen, for high-density displays).
	historyThumbSide = 300
	// historyUndoFor is how long the Undo button stays after a deletion.
	historyUndoFor = 20 * time.Second
	// historyThumbWorkers bounds the pictures decoded at once.
	historyThumbWorkers = 2
)

// historyPicture is one picture an entry can show: a file in the history
// folder and what it is.
type historyPicture struct {
	name    string
	caption string
}

// historyParams is the part of an entry's parameter record the screen shows.
type historyParams struct {
	Seed     *int64   `json:"seed"`
	Steps    int      `json:"num_steps"`
	CFGScale *float64 `json:"cfg_scale"`
	Width    int      `json:"width"`
	Height   int      `json:"height"`
}

type historyScreen struct {
	env *env
	// openURL opens a file or folder in the system's viewer (tests replace
	// it).
	openURL func(*url.URL) error

	// The list shown: the folder, its entries (newest first), how many
	// records could not be read and why the folder could not be listed.
	dir     string
	entries []app.Entry
	bad     int
	listErr error
	// listing is true while a refresh runs; entries added meanwhile are
	// kept in addedSince and merged into its result.
	listing    bool
	addedSince []app.Entry
	listGen    int

	// thumbs holds loaded thumbnails by entry ID and picture name (nil
	// while loading: a failed load stays nil and shows the icon);
	// thumbsShown those already drawn in the gallery.
	// while loading: a failed load stays nil and shows the icon).
	thumbs      map[string]image.Image
	thumbsShown map[string]bool
	thumbSem    chan struct{}
	// thumbMu guards thumbs: fyne.Do serialises callbacks in the app, but
	// the headless test driver runs them on the calling goroutine.
	thumbMu sync.Mutex

	grid     *widget.GridWrap
	gridSel  widget.GridWrapItemID // the grid's selected cell, -1: none
	items    map[*fyne.Container]*historyItem
	empty    *widget.Label
	summary  *widget.Label
	badLabel *widget.Label

	// Undo of deletions, most recent last.
	undos     []historyUndo
	undoGen   int
	undoLabel *widget.Label
	undoBtn   *widget.Button
	undoBar   *fyne.Container

	// The entry shown large.
	selected *app.Entry
	pictures []historyPicture
	// shown is the file in the large view once it is drawn ("" before).
	shown      string
	picIndex   int
	detailGen  int
	title      *widget.Label
	view       *ImageView
	picLabel   *widget.Label
	prevPic    *widget.Button
	nextPic    *widget.Button
	picNav     *fyne.Container
	details    *fyne.Container
	openBtn    *widget.Button
	rerunBtn   *widget.Button
	copyBtn    *widget.Button
	deleteBtn  *widget.Button
	folderBtn  *widget.Button
	refreshBtn *widget.Button

	content fyne.CanvasObject
}

type historyUndo struct {
	entry app.Entry
	dir   string
	undo  func() error
}

func newHistoryScreen(e *env) *historyScreen {
	s := &historyScreen{
		env:         e,
		thumbs:      map[string]image.Image{},
		thumbsShown: map[string]bool{},
		items:       map[*fyne.Container]*historyItem{},
		thumbSem:    make(chan struct{}, historyThumbWorkers),
	}
	s.openURL = func(u *url.URL) error { return s.env.app.OpenURL(u) }

	s.grid = widget.NewGridWrap(func() int { return len(s.entries) }, s.newItem, s.updateItem)
	s.gridSel = -1
	s.grid.OnSelected = func(id widget.GridWrapItemID) {
		s.gridSel = id
		if id >= 0 && id < len(s.entries) {
			s.show(s.entries[id])
		}
	}
	s.grid.OnUnselected = func(widget.GridWrapItemID) { s.gridSel = -1 }
	s.empty = widget.NewLabel("No results yet. Every picture, storyboard and answer you make is saved here with its parameters.")
	s.empty.Wrapping = fyne.TextWrapWord
	s.empty.Alignment = fyne.TextAlignCenter
	s.summary = widget.NewLabel("")
	s.summary.Truncation = fyne.TextTruncateEllipsis
	s.badLabel = widget.NewLabel("")
	s.badLabel.Importance = widget.WarningImportance
	s.badLabel.Wrapping = fyne.TextWrapWord
	s.badLabel.Hide()
	s.folderBtn = widget.NewButtonWithIcon("Open folder", theme.FolderOpenIcon(), s.openFolder)
	s.refreshBtn = widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), s.refresh)

	s.undoLabel = widget.NewLabel("")
	s.undoLabel.Truncation = fyne.TextTruncateEllipsis
	s.undoBtn = widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), s.undoLast)
	s.undoBtn.Importance = widget.HighImportance
	s.undoBar = container.NewBorder(nil, nil, nil, s.undoBtn, s.undoLabel)
	s.undoBar.Hide()

	top := container.NewBorder(nil, nil, nil, container.NewHBox(s.refreshBtn, s.folderBtn), s.summary)
	gallery := container.NewBorder(container.NewVBox(top, s.badLabel), s.undoBar, nil, nil,
		container.NewStack(s.grid, container.NewVBox(layout.NewSpacer(), s.empty, layout.NewSpacer())))

	s.title = widget.NewLabel("")
	s.title.TextStyle.Bold = true
	s.title.Truncation = fyne.TextTruncateEllipsis
	s.view = NewImageView(nil, "Choose a result to see it large.")
	s.picLabel = widget.NewLabel("")
	s.prevPic = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { s.showPicture(s.picIndex - 1) })
	s.nextPic = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { s.showPicture(s.picIndex + 1) })
	s.picNav = container.NewHBox(layout.NewSpacer(), s.prevPic, s.picLabel, s.nextPic, layout.NewSpacer())
	s.picNav.Hide()
	s.details = container.New(layout.NewFormLayout())

	s.openBtn = widget.NewButtonWithIcon("Open", theme.FileImageIcon(), s.openPicture)
	s.rerunBtn = widget.NewButtonWithIcon("Re-run", theme.MediaReplayIcon(), s.rerunSelected)
	s.copyBtn = widget.NewButtonWithIcon("Copy prompt", theme.ContentCopyIcon(), s.copyPrompt)
	s.deleteBtn = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), s.deleteSelected)
	s.deleteBtn.Importance = widget.DangerImportance
	actions := container.NewHBox(s.openBtn, s.rerunBtn, s.copyBtn, layout.NewSpacer(), s.deleteBtn)

	picture := container.NewBorder(nil, s.picNav, nil, nil, s.view)
	split := container.NewVSplit(picture, container.NewVScroll(s.details))
	split.Offset = 0.6
	detail := container.NewBorder(container.NewVBox(s.title, actions), nil, nil, nil, split)

	main := container.NewHSplit(gallery, detail)
	main.Offset = 0.5
	s.content = main
	s.clearDetail()
	s.refresh()
	return s
}

func (s *historyScreen) Content() fyne.CanvasObject { return s.content }

// Start and Cancel have nothing to do here: the History screen runs no
// task of its own.
func (s *historyScreen) Start()  {}
func (s *historyScreen) Cancel() {}

// add shows a result just saved (called on the UI goroutine).
func (s *historyScreen) add(e app.Entry) {
	if s.listing {
		s.addedSince = append(s.addedSince, e)
	}
	if dir := s.env.studio.History().Dir(); dir != s.dir {
		// The output folder changed since the list was read.
		s.refresh()
		return
	}
	s.insert(e)
	s.update()
}

// refresh reads the history folder again (off the UI goroutine).
func (s *historyScreen) refresh() {
	s.listing = true
	s.addedSince = nil
	s.listGen++
	gen := s.listGen
	h := s.env.studio.History()
	go func() {
		list, bad, err := h.List()
		fyne.Do(func() {
			if gen != s.listGen {
				return // a later refresh is under way
			}
			added := s.addedSince
			s.addedSince = nil
			if h != s.env.studio.History() {
				// The folder changed again meanwhile: read it.
				s.refresh()
				return
			}
			s.dir, s.entries, s.bad, s.listErr = h.Dir(), list, bad, err
			for _, e := range added {
				s.insert(e)
			}
			s.update()
			s.listing = false
		})
	}()
}

// insert puts e in the list at its place (newest first), replacing an
// entry with the same ID.
func (s *historyScreen) insert(e app.Entry) {
	for i := range s.entries {
		if s.entries[i].ID == e.ID {
			s.entries[i] = e
			return
		}
	}
	i := sort.Search(len(s.entries), func(i int) bool {
		o := s.entries[i]
		if !o.Created.Equal(e.Created) {
			return o.Created.Before(e.Created)
		}
		return o.ID < e.ID
	})
	s.entries = append(s.entries, app.Entry{})
	copy(s.entries[i+1:], s.entries[i:])
	s.entries[i] = e
}

// index is the position of the entry with this ID, or -1.
func (s *historyScreen) index(id string) int {
	for i := range s.entries {
		if s.entries[i].ID == id {
			return i
		}
	}
	return -1
}

// update redraws the gallery and its summary and keeps the selection.
func (s *historyScreen) update() {
	n := len(s.entries)
	switch {
	case s.listErr != nil:
		s.summary.SetText(fmt.Sprintf("The history folder could not be read: %v", s.listErr))
	case n == 1:
		s.summary.SetText("1 result in " + s.dir)
	default:
		s.summary.SetText(fmt.Sprintf("%d results in %s", n, s.dir))
	}
	if s.bad > 0 {
		what := "1 record in this folder could not be read and is not shown"
		if s.bad > 1 {
			what = fmt.Sprintf("%d records in this folder could not be read and are not shown", s.bad)
		}
		s.badLabel.SetText(what + " (damaged or written by another program).")
		s.badLabel.Show()
	} else {
		s.badLabel.Hide()
	}
	s.empty.Hidden = n > 0
	s.empty.Refresh()
	s.grid.Refresh()
	if s.selected != nil {
		if i := s.index(s.selected.ID); i == s.gridSel {
			s.show(s.entries[i])
		} else if i >= 0 {
			s.grid.Select(i)
		} else {
			s.grid.UnselectAll()
			s.clearDetail()
		}
	}
}

// historyTaskName is the screen a task belongs to, as the tabs name it.
func historyTaskName(e app.Entry) string {
	switch e.Task {
	case "t2i":
		if e.Request.Think {
			return tabThink
		}
		return tabCreate
	case "edit":
		return tabEdit
	case "interleave":
		return tabStoryboard
	case "vqa":
		return tabAsk
	}
	return e.Task
}

// historyPictures lists what an entry can show: its results, then (for
// edits and questions) its input pictures.
func historyPictures(e app.Entry) []historyPicture {
	var out []historyPicture
	for k, name := range e.Pictures {
		caption := "result"
		switch {
		case e.Task == "interleave":
			caption = fmt.Sprintf("picture %d of the storyboard", k+1)
		case len(e.Pictures) > 1:
			caption = fmt.Sprintf("result %d", k+1)
		}
		out = append(out, historyPicture{name, caption})
	}
	for k, name := range e.Inputs {
		caption := "input picture"
		if len(e.Inputs) > 1 {
			caption = fmt.Sprintf("input picture %d", k+1)
		}
		out = append(out, historyPicture{name, caption})
	}
	return out
}

// historyExcerpt shortens text to one line of at most n runes.
func historyExcerpt(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= n {
		return text
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// historyGalleryText is the two lines under a thumbnail.
func historyGalleryText(e app.Entry) (title, excerpt string) {
	title = historyTaskName(e) + " · " + e.Created.Local().Format("2 Jan 15:04")
	switch e.Task {
	case "vqa":
		excerpt = historyExcerpt(e.Prompt, 40) + " → " + historyExcerpt(e.Answer, 60)
	default:
		excerpt = historyExcerpt(e.Prompt, 80)
	}
	if strings.TrimSpace(excerpt) == "" || excerpt == " → " {
		excerpt = "(no prompt)"
	}
	return title, excerpt
}

// historyDetailTitle is the line above the large view.
func historyDetailTitle(e app.Entry) string {
	return historyTaskName(e) + " · " + e.Created.Local().Format("Monday 2 January 2006, 15:04:05")
}

// historyItem is one gallery cell's widgets.
type historyItem struct {
	bg      *canvas.Rectangle
	thumb   *canvas.Image
	icon    *widget.Icon
	title   *widget.Label
	excerpt *widget.Label
}

func (s *historyScreen) newItem() fyne.CanvasObject {
	it := &historyItem{
		thumb:   canvas.NewImageFromImage(nil),
		icon:    widget.NewIcon(nil),
		title:   widget.NewLabel(""),
		excerpt: widget.NewLabel(""),
	}
	it.thumb.FillMode = canvas.ImageFillContain
	it.thumb.ScaleMode = canvas.ImageScaleSmooth
	it.thumb.SetMinSize(fyne.NewSize(168, 118))
	it.title.TextStyle.Bold = true
	it.title.Truncation = fyne.TextTruncateEllipsis
	it.title.SizeName = theme.SizeNameCaptionText
	it.excerpt.Truncation = fyne.TextTruncateEllipsis
	it.excerpt.SizeName = theme.SizeNameCaptionText
	it.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	it.bg.CornerRadius = theme.InputRadiusSize()
	box := container.NewBorder(nil, container.New(layout.NewCustomPaddedVBoxLayout(-14), it.title, it.excerpt), nil, nil,
		container.NewStack(it.bg, container.NewCenter(it.icon), it.thumb))
	s.items[box] = it
	return box
}

func (s *historyScreen) updateItem(id widget.GridWrapItemID, o fyne.CanvasObject) {
	box, _ := o.(*fyne.Container)
	it, ok := s.items[box]
	if !ok || id < 0 || id >= len(s.entries) {
		return
	}
	it.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	it.bg.Refresh()
	e := s.entries[id]
	title, excerpt := historyGalleryText(e)
	it.title.SetText(title)
	it.excerpt.SetText(excerpt)
	pics := historyPictures(e)
	var img image.Image
	if len(pics) > 0 {
		img = s.thumbnail(e, pics[0].name)
	}
	it.thumb.Image = img
	it.thumb.Hidden = img == nil
	it.thumb.Refresh()
	switch {
	case img != nil:
		it.icon.Hide()
	case e.Task == "vqa":
		it.icon.SetResource(theme.QuestionIcon())
		it.icon.Show()
	default:
		it.icon.SetResource(theme.FileImageIcon())
		it.icon.Show()
	}
}

// thumbnail returns the loaded thumbnail of a picture of e, or nil after
// starting to load it.
func (s *historyScreen) thumbnail(e app.Entry, name string) image.Image {
	key := e.ID + "/" + name
	s.thumbMu.Lock()
	img, ok := s.thumbs[key]
	if !ok {
		s.thumbs[key] = nil
	}
	s.thumbMu.Unlock()
	if ok {
		return img
	}
	path := s.env.studio.History().Path(name)
	go func() {
		s.thumbSem <- struct{}{}
		img, err := app.ReadPicture(path)
		<-s.thumbSem
		var thumb image.Image
		if err == nil {
			thumb = historyScale(img, historyThumbSide)
		}
		s.thumbMu.Lock()
		s.thumbs[key] = thumb
		s.thumbMu.Unlock()
		fyne.Do(func() {
			if thumb == nil {
				return
			}
			if i := s.index(e.ID); i >= 0 {
				s.grid.RefreshItem(i)
			}
			s.thumbMu.Lock()
			s.thumbsShown[key] = true
			s.thumbMu.Unlock()
		})
	}()
	return nil
}

// thumbShown returns a thumbnail once it is loaded and drawn (nil before,
// or when it could not be read).
func (s *historyScreen) thumbShown(e app.Entry, name string) image.Image {
	s.thumbMu.Lock()
	defer s.thumbMu.Unlock()
	if !s.thumbsShown[e.ID+"/"+name] {
		return nil
	}
	return s.thumbs[e.ID+"/"+name]
}

// historyScale shrinks img so that its longer side is at most side pixels.
func historyScale(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side || w == 0 || h == 0 {
		return img
	}
	if w >= h {
		w, h = side, max(1, h*side/w)
	} else {
		w, h = max(1, w*side/h), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// show displays an entry large with its details.
func (s *historyScreen) show(e app.Entry) {
	same := s.selected != nil && s.selected.ID == e.ID
	s.selected = &e
	s.pictures = historyPictures(e)
	if !same {
		s.picIndex = 0
		s.view.View().Reset()
	}
	s.title.SetText(historyDetailTitle(e))
	s.fillDetails(e)
	for _, b := range []*widget.Button{s.rerunBtn, s.copyBtn, s.deleteBtn} {
		b.Enable()
	}
	if strings.TrimSpace(e.Prompt) == "" {
		s.copyBtn.Disable()
	}
	if !same || s.view.Image() == nil {
		s.showPicture(s.picIndex)
	}
}

// clearDetail empties the detail side.
func (s *historyScreen) clearDetail() {
	s.selected, s.pictures, s.picIndex, s.shown = nil, nil, 0, ""
	s.detailGen++
	s.title.SetText("Choose a result in the gallery.")
	s.view.SetImage(nil)
	s.picNav.Hide()
	s.details.Objects = nil
	s.details.Refresh()
	for _, b := range []*widget.Button{s.openBtn, s.rerunBtn, s.copyBtn, s.deleteBtn} {
		b.Disable()
	}
}

// showPicture loads the k-th picture of the selected entry (off the UI
// goroutine) into the large view.
func (s *historyScreen) showPicture(k int) {
	if s.selected == nil {
		return
	}
	s.detailGen++
	gen := s.detailGen
	s.shown = ""
	if len(s.pictures) == 0 {
		s.view.SetImage(nil)
		s.picNav.Hide()
		s.openBtn.Disable()
		return
	}
	k = max(0, min(k, len(s.pictures)-1))
	s.picIndex = k
	p := s.pictures[k]
	s.picLabel.SetText(fmt.Sprintf("%d of %d · %s", k+1, len(s.pictures), p.caption))
	s.picNav.Hidden = len(s.pictures) < 2
	s.picNav.Refresh()
	if k == 0 {
		s.prevPic.Disable()
	} else {
		s.prevPic.Enable()
	}
	if k == len(s.pictures)-1 {
		s.nextPic.Disable()
	} else {
		s.nextPic.Enable()
	}
	s.openBtn.Enable()
	path := s.env.studio.History().Path(p.name)
	go func() {
		img, err := app.ReadPicture(path)
		fyne.Do(func() {
			if gen != s.detailGen {
				return
			}
			if err != nil {
				s.view.SetImage(nil)
				s.picLabel.SetText(fmt.Sprintf("%d of %d · %s could not be read: %v", k+1, len(s.pictures), p.caption, err))
				s.picNav.Show()
				return
			}
			s.view.SetImage(img)
			s.shown = p.name
		})
	}()
}

// fillDetails lists an entry's parameters and texts.
func (s *historyScreen) fillDetails(e app.Entry) {
	var objs []fyne.CanvasObject
	row := func(key, value string) {
		if strings.TrimSpace(value) == "" {
			return
		}
		k := widget.NewLabel(key)
		k.TextStyle.Bold = true
		v := widget.NewLabel(value)
		v.Wrapping = fyne.TextWrapWord
		v.Selectable = true
		objs = append(objs, k, v)
	}
	var p historyParams
	if len(e.Parameters) > 0 {
		json.Unmarshal(e.Parameters, &p) // best effort: the request says the rest
	}
	req := e.Request
	switch e.Task {
	case "vqa":
		row("Question", e.Prompt)
	default:
		row("Prompt", e.Prompt)
	}
	row("Task", historyTaskName(e))
	if e.Task != "vqa" {
		seed := req.Seed
		if p.Seed != nil {
			seed = *p.Seed
		}
		row("Seed", fmt.Sprint(seed))
		steps := p.Steps
		if steps == 0 {
			steps = req.Steps
		}
		if steps > 0 {
			row("Steps", fmt.Sprint(steps))
		}
		w, h := p.Width, p.Height
		if w == 0 || h == 0 {
			w, h = req.Width, req.Height
		}
		if w > 0 && h > 0 {
			row("Size", fmt.Sprintf("%d × %d", w, h))
		}
		cfg := p.CFGScale
		if cfg == nil {
			cfg = req.CFGScale
		}
		if cfg != nil {
			row("Guidance", fmt.Sprintf("%g", *cfg))
		}
	}
	if e.Seconds > 0 {
		row("Time", fmt.Sprintf("%.1f s", e.Seconds))
	}
	row("Model", e.Model)
	row("Saved", e.Created.Local().Format("2 Jan 2006 15:04:05"))
	row("Thinking", e.ThinkText)
	row("Answer", e.Answer)
	row("Storyboard", e.Text)
	s.details.Objects = objs
	s.details.Refresh()
}

// historyFileURL is a local path as a file:// URL.
func historyFileURL(path string) (*url.URL, error) {
	return url.Parse(storage.NewFileURI(path).String())
}

func (s *historyScreen) open(path string) {
	u, err := historyFileURL(path)
	if err == nil {
		err = s.openURL(u)
	}
	if err != nil {
		dialog.ShowError(fmt.Errorf("could not open %s: %w", path, err), s.env.win)
	}
}

// openPicture opens the picture shown in the system's viewer.
func (s *historyScreen) openPicture() {
	if s.selected == nil || s.picIndex >= len(s.pictures) {
		return
	}
	s.open(s.env.studio.History().Path(s.pictures[s.picIndex].name))
}

// openFolder opens the history folder in the file manager.
func (s *historyScreen) openFolder() { s.open(s.env.studio.History().Dir()) }

// rerunSelected opens the entry on its task's screen with its parameters.
func (s *historyScreen) rerunSelected() {
	if s.selected != nil && s.env.rerun != nil {
		s.env.rerun(*s.selected)
	}
}

// copyPrompt puts the entry's prompt (or question) on the clipboard.
func (s *historyScreen) copyPrompt() {
	if s.selected == nil {
		return
	}
	s.env.app.Clipboard().SetContent(s.selected.Prompt)
	s.title.SetText("Prompt copied to the clipboard.")
	sel := s.selected.ID
	time.AfterFunc(2*time.Second, func() {
		fyne.Do(func() {
			if s.selected != nil && s.selected.ID == sel {
				s.title.SetText(historyDetailTitle(*s.selected))
			}
		})
	})
}

// deleteSelected moves the entry to the history's trash and offers Undo.
func (s *historyScreen) deleteSelected() {
	if s.selected == nil {
		return
	}
	e := *s.selected
	h := s.env.studio.History()
	undo, err := h.Delete(e)
	if err != nil {
		dialog.ShowError(fmt.Errorf("could not delete the result: %w", err), s.env.win)
		return
	}
	i := s.index(e.ID)
	if i >= 0 {
		s.entries = append(s.entries[:i], s.entries[i+1:]...)
	}
	s.undos = append(s.undos, historyUndo{entry: e, dir: h.Dir(), undo: undo})
	s.showUndo()
	// Show the next result so that several can be deleted in a row.
	s.selected = nil
	s.grid.UnselectAll()
	s.clearDetail()
	s.update()
	if len(s.entries) > 0 {
		s.grid.Select(min(max(i, 0), len(s.entries)-1))
	}
}

// showUndo shows the Undo bar for the most recent deletion, for a while.
func (s *historyScreen) showUndo() {
	if len(s.undos) == 0 {
		s.undoBar.Hide()
		return
	}
	last := s.undos[len(s.undos)-1].entry
	what := historyExcerpt(last.Prompt, 50)
	if what == "" {
		what = historyTaskName(last)
	}
	text := fmt.Sprintf("Deleted “%s”.", what)
	if n := len(s.undos); n > 1 {
		text = fmt.Sprintf("Deleted “%s” (and %d more).", what, n-1)
	}
	s.undoLabel.SetText(text)
	s.undoBar.Show()
	s.undoGen++
	gen := s.undoGen
	time.AfterFunc(historyUndoFor, func() {
		fyne.Do(func() {
			if gen == s.undoGen {
				s.undos = nil
				s.undoBar.Hide()
			}
		})
	})
}

// undoLast brings back the most recently deleted entry.
func (s *historyScreen) undoLast() {
	if len(s.undos) == 0 {
		return
	}
	u := s.undos[len(s.undos)-1]
	s.undos = s.undos[:len(s.undos)-1]
	if err := u.undo(); err != nil {
		dialog.ShowError(fmt.Errorf("could not bring back the result: %w", err), s.env.win)
	}
	s.showUndo()
	if u.dir != s.dir {
		return
	}
	s.insert(u.entry)
	e := u.entry
	s.selected, s.picIndex = &e, 0
	s.view.SetImage(nil)
	s.update()
}
