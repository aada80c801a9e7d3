package ui

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	xdraw "golang.org/x/image/draw"
)

// compareView shows two pictures in one frame: the "before" picture left of
// a vertical divider, the "after" picture right of it, both at the same zoom
// and pan (a *View, which ImageViews may share too). Dragging the divider
// (or tapping where it should go) moves it; dragging elsewhere pans, the
// wheel zooms around the pointer and a double tap fits the picture again.
//
// The frame is drawn by a canvas.Raster at the screen's pixel size: every
// screen pixel takes the nearest picture pixel through the same visible()
// mapping as ImageView, so the two sides line up exactly with each other and
// with an ImageView of the same size and View, at any zoom.
type compareView struct {
	widget.BaseWidget

	mu            sync.Mutex
	before, after *image.NRGBA
	split         float32 // the divider, as a fraction of the width (0…1)
	view          *View
	dragging      int  // compareDragNone, compareDragDivider or compareDragPan during a drag
	nearDivider   bool // the pointer is over the divider (resize cursor)
	onSplit       func(float32)

	raster      *canvas.Raster
	line        *canvas.Rectangle
	handle      *canvas.Circle
	grip        *canvas.Image
	beforeTag   *compareTag
	afterTag    *compareTag
	placeholder *widget.Label
}

const (
	compareDragNone = iota
	compareDragDivider
	compareDragPan
)

// compareGrip is the two arrows on the divider's handle.
var compareGrip = fyne.NewStaticResource("compare-grip.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="18" height="10" viewBox="0 0 18 10"><path d="M0 5 L6 0 L6 10 Z M18 5 L12 0 L12 10 Z" fill="#333333"/></svg>`))

// compareDividerReach is how close (in units) to the divider a drag must start to
// move it rather than pan.
const compareDividerReach = 18

// newCompareView makes an empty compare view following view.
func newCompareView(view *View, placeholder string) *compareView {
	cv := &compareView{view: view, split: 0.5, placeholder: widget.NewLabel(placeholder)}
	cv.placeholder.Alignment = fyne.TextAlignCenter
	cv.placeholder.Wrapping = fyne.TextWrapWord
	cv.raster = canvas.NewRaster(cv.draw)
	cv.raster.ScaleMode = canvas.ImageScaleFastest
	cv.line = canvas.NewRectangle(color.White)
	cv.line.StrokeColor = color.NRGBA{A: 160}
	cv.line.StrokeWidth = 1
	cv.handle = canvas.NewCircle(color.White)
	cv.handle.StrokeColor = color.NRGBA{A: 160}
	cv.handle.StrokeWidth = 1
	cv.grip = canvas.NewImageFromResource(compareGrip)
	cv.grip.FillMode = canvas.ImageFillContain
	cv.beforeTag = newCompareTag("Before")
	cv.afterTag = newCompareTag("After")
	cv.ExtendBaseWidget(cv)
	view.listen(func() { fyne.Do(cv.Refresh) })
	return cv
}

// compareNRGBA returns img as *image.NRGBA (copying when it is another type).
func compareNRGBA(img image.Image) *image.NRGBA {
	if img == nil {
		return nil
	}
	if n, ok := img.(*image.NRGBA); ok {
		return n
	}
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	return n
}

// SetImages shows before (left) and after (right); either may be nil.
// Pictures of different sizes are stretched onto after's frame.
func (cv *compareView) SetImages(before, after image.Image) {
	b, a := compareNRGBA(before), compareNRGBA(after)
	cv.mu.Lock()
	cv.before, cv.after = b, a
	cv.mu.Unlock()
	cv.Refresh()
}

// Images returns the pictures shown.
func (cv *compareView) Images() (before, after image.Image) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.before != nil {
		before = cv.before
	}
	if cv.after != nil {
		after = cv.after
	}
	return before, after
}

// Split returns the divider's place as a fraction of the width.
func (cv *compareView) Split() float32 {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return cv.split
}

// SetSplit moves the divider (a fraction of the width, clamped to 0…1).
func (cv *compareView) SetSplit(f float32) {
	f = float32(math.Max(0, math.Min(1, float64(f))))
	cv.mu.Lock()
	changed := f != cv.split
	cv.split = f
	on := cv.onSplit
	cv.mu.Unlock()
	if !changed {
		return
	}
	cv.Refresh()
	if on != nil {
		on(f)
	}
}

// frame is the picture whose pixel grid the view maps (after, else before).
func (cv *compareView) frame() *image.NRGBA {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.after != nil {
		return cv.after
	}
	return cv.before
}

// shown returns where the picture is drawn: the visible part of the frame,
// in units (the whole widget when there is no picture).
func (cv *compareView) shown() (fyne.Position, fyne.Size) {
	size := cv.Size()
	frame := cv.frame()
	if frame == nil || size.Width <= 0 || size.Height <= 0 {
		return fyne.Position{}, size
	}
	zoom, center := cv.view.get()
	_, pos, dst := visible(frame, size, zoom, center)
	if dst.Width <= 0 {
		return fyne.Position{}, size
	}
	return pos, dst
}

// dividerX is the divider's x in units: the split is a fraction of the
// picture's visible width, so the divider is always on the picture.
func (cv *compareView) dividerX() float32 {
	pos, dst := cv.shown()
	return pos.X + cv.Split()*dst.Width
}

// splitAt is the split that puts the divider at x.
func (cv *compareView) splitAt(x float32) float32 {
	pos, dst := cv.shown()
	if dst.Width <= 0 {
		return 0.5
	}
	return (x - pos.X) / dst.Width
}

// draw renders the frame at w×h screen pixels.
func (cv *compareView) draw(w, h int) image.Image {
	cv.mu.Lock()
	before, after, split := cv.before, cv.after, cv.split
	cv.mu.Unlock()
	out := image.NewNRGBA(image.Rect(0, 0, max(1, w), max(1, h)))
	frame := after
	if frame == nil {
		frame = before
	}
	size := cv.Size()
	if frame == nil || w <= 0 || h <= 0 || size.Width <= 0 || size.Height <= 0 {
		return out
	}
	zoom, center := cv.view.get()
	src, pos, dst := visible(frame, size, zoom, center)
	if src.Empty() || dst.Width <= 0 || dst.Height <= 0 {
		return out
	}
	// Screen pixel → frame pixel, per column and per row (-1: outside).
	perX, perY := size.Width/float32(w), size.Height/float32(h)
	cols := make([]int, w)
	for x := range cols {
		u := (float32(x) + 0.5) * perX
		cols[x] = -1
		if u >= pos.X && u < pos.X+dst.Width {
			px := src.Min.X + int((u-pos.X)*float32(src.Dx())/dst.Width)
			cols[x] = min(px, src.Max.X-1) - frame.Rect.Min.X
		}
	}
	rows := make([]int, h)
	for y := range rows {
		v := (float32(y) + 0.5) * perY
		rows[y] = -1
		if v >= pos.Y && v < pos.Y+dst.Height {
			py := src.Min.Y + int((v-pos.Y)*float32(src.Dy())/dst.Height)
			rows[y] = min(py, src.Max.Y-1) - frame.Rect.Min.Y
		}
	}
	fw, fh := frame.Rect.Dx(), frame.Rect.Dy()
	divide := int(math.Round(float64((pos.X + split*dst.Width) / perX)))
	for y, fy := range rows {
		if fy < 0 {
			continue
		}
		line := out.Pix[y*out.Stride : y*out.Stride+4*w]
		for x, fx := range cols {
			if fx < 0 {
				continue
			}
			pic := after
			if x < divide || after == nil {
				pic = before
			}
			if pic == nil {
				continue
			}
			// Pictures of another size are stretched onto the frame.
			px, py := fx, fy
			if pw, ph := pic.Rect.Dx(), pic.Rect.Dy(); pw != fw || ph != fh {
				px, py = fx*pw/fw, fy*ph/fh
			}
			i := pic.PixOffset(pic.Rect.Min.X+px, pic.Rect.Min.Y+py)
			copy(line[4*x:4*x+4], pic.Pix[i:i+4])
		}
	}
	return out
}

// compareZoom scales view's zoom by f (clamped to minZoom…maxZoom) keeping the
// picture point under at (nil: the centre) in place: the same rule as
// ImageView's wheel zoom, for a widget of the given size showing img.
func compareZoom(view *View, img image.Image, size fyne.Size, f float64, at *fyne.Position) {
	if img == nil {
		return
	}
	z, c := view.get()
	nz := float32(math.Max(minZoom, math.Min(maxZoom, float64(z)*f)))
	if at != nil {
		s := fitScale(img, size) * z
		ns := fitScale(img, size) * nz
		if z <= 1 {
			// visible() centres the picture while it fits.
			b := img.Bounds()
			c = fyne.NewPos(float32(b.Dx())/2, float32(b.Dy())/2)
		}
		dx, dy := at.X-size.Width/2, at.Y-size.Height/2
		px, py := c.X+dx/s, c.Y+dy/s
		c = fyne.NewPos(px-dx/ns, py-dy/ns)
	}
	view.set(nz, c)
}

// Scrolled zooms around the pointer.
func (cv *compareView) Scrolled(ev *fyne.ScrollEvent) {
	pos := ev.Position
	compareZoom(cv.view, cv.frame(), cv.Size(), math.Pow(1.0015, float64(ev.Scrolled.DY)), &pos)
}

// Dragged moves the divider when the drag started on it, else pans.
func (cv *compareView) Dragged(ev *fyne.DragEvent) {
	cv.mu.Lock()
	mode := cv.dragging
	cv.mu.Unlock()
	if mode == compareDragNone {
		start := ev.Position.SubtractXY(ev.Dragged.DX, ev.Dragged.DY)
		mode = compareDragPan
		if float32(math.Abs(float64(start.X-cv.dividerX()))) <= compareDividerReach {
			mode = compareDragDivider
		}
		cv.mu.Lock()
		cv.dragging = mode
		cv.mu.Unlock()
	}
	if mode == compareDragDivider {
		cv.SetSplit(cv.splitAt(ev.Position.X))
		return
	}
	img := cv.frame()
	if img == nil {
		return
	}
	z, c := cv.view.get()
	if z <= 1 {
		return // the whole picture is shown: nothing to pan
	}
	s := fitScale(img, cv.Size()) * z
	cv.view.set(z, fyne.NewPos(c.X-ev.Dragged.DX/s, c.Y-ev.Dragged.DY/s))
}

// DragEnd ends a drag.
func (cv *compareView) DragEnd() {
	cv.mu.Lock()
	cv.dragging = compareDragNone
	cv.mu.Unlock()
}

// Tapped moves the divider to the tapped point.
func (cv *compareView) Tapped(ev *fyne.PointEvent) {
	cv.SetSplit(cv.splitAt(ev.Position.X))
}

// DoubleTapped fits the picture again.
func (cv *compareView) DoubleTapped(*fyne.PointEvent) { cv.view.Reset() }

// MouseIn, MouseMoved and MouseOut track whether the pointer is over the
// divider, for the cursor.
func (cv *compareView) MouseIn(ev *desktop.MouseEvent) { cv.MouseMoved(ev) }
func (cv *compareView) MouseMoved(ev *desktop.MouseEvent) {
	near := float32(math.Abs(float64(ev.Position.X-cv.dividerX()))) <= compareDividerReach
	cv.mu.Lock()
	cv.nearDivider = near
	cv.mu.Unlock()
}
func (cv *compareView) MouseOut() {
	cv.mu.Lock()
	cv.nearDivider = false
	cv.mu.Unlock()
}

// Cursor is a horizontal-resize cursor over the divider.
func (cv *compareView) Cursor() desktop.Cursor {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.nearDivider || cv.dragging == compareDragDivider {
		return desktop.HResizeCursor
	}
	return desktop.DefaultCursor
}

func (cv *compareView) CreateRenderer() fyne.WidgetRenderer { return &compareRenderer{cv: cv} }

type compareRenderer struct{ cv *compareView }

func (r *compareRenderer) Layout(size fyne.Size) {
	cv := r.cv
	cv.raster.Move(fyne.Position{})
	cv.raster.Resize(size)
	cv.placeholder.Move(fyne.Position{})
	cv.placeholder.Resize(size)
	// The divider, its handle and the captions sit on the picture.
	pos, dst := cv.shown()
	x := pos.X + cv.Split()*dst.Width
	cv.line.Move(fyne.NewPos(x-1, pos.Y))
	cv.line.Resize(fyne.NewSize(2, dst.Height))
	const d = 26
	mid := pos.Y + dst.Height/2
	cv.handle.Move(fyne.NewPos(x-d/2, mid-d/2))
	cv.handle.Resize(fyne.NewSize(d, d))
	gs := fyne.NewSize(18, 10)
	cv.grip.Move(fyne.NewPos(x-gs.Width/2, mid-gs.Height/2))
	cv.grip.Resize(gs)
	pad := theme.Padding()
	bs, as := cv.beforeTag.MinSize(), cv.afterTag.MinSize()
	cv.beforeTag.Move(fyne.NewPos(pos.X+pad, pos.Y+pad))
	cv.beforeTag.Resize(bs)
	cv.afterTag.Move(fyne.NewPos(pos.X+dst.Width-as.Width-pad, pos.Y+pad))
	cv.afterTag.Resize(as)
}

func (r *compareRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 90) }

func (r *compareRenderer) Refresh() {
	cv := r.cv
	cv.mu.Lock()
	has := cv.after != nil || cv.before != nil
	both := cv.after != nil && cv.before != nil
	cv.mu.Unlock()
	cv.placeholder.Hidden = has
	for _, o := range []fyne.CanvasObject{cv.line, cv.handle, cv.grip, cv.beforeTag, cv.afterTag} {
		o.(interface{ Show() }).Show()
		if !both {
			o.Hide()
		}
	}
	cv.raster.Hidden = !has
	r.Layout(cv.Size())
	cv.raster.Refresh()
	cv.placeholder.Refresh()
}

func (r *compareRenderer) Objects() []fyne.CanvasObject {
	cv := r.cv
	return []fyne.CanvasObject{cv.raster, cv.line, cv.handle, cv.grip, cv.beforeTag, cv.afterTag, cv.placeholder}
}

func (r *compareRenderer) Destroy() {}

// compareTag is a small caption on a translucent dark background, readable on any
// picture.
type compareTag struct {
	widget.BaseWidget
	text *canvas.Text
	bg   *canvas.Rectangle
}

func newCompareTag(s string) *compareTag {
	t := &compareTag{text: canvas.NewText(s, color.White), bg: canvas.NewRectangle(color.NRGBA{A: 150})}
	t.text.TextSize = theme.CaptionTextSize()
	t.bg.CornerRadius = 4
	t.ExtendBaseWidget(t)
	return t
}

func (t *compareTag) CreateRenderer() fyne.WidgetRenderer {
	return &compareTagRenderer{t: t}
}

type compareTagRenderer struct{ t *compareTag }

func (r *compareTagRenderer) Layout(size fyne.Size) {
	r.t.bg.Resize(size)
	r.t.text.Move(fyne.NewPos(6, 2))
	r.t.text.Resize(r.t.text.MinSize())
}
func (r *compareTagRenderer) MinSize() fyne.Size {
	m := r.t.text.MinSize()
	return fyne.NewSize(m.Width+12, m.Height+4)
}
func (r *compareTagRenderer) Refresh() { r.t.bg.Refresh(); r.t.text.Refresh() }
func (r *compareTagRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.t.bg, r.t.text}
}
func (r *compareTagRenderer) Destroy() {}

// editResized returns img scaled to w×h (bilinear), or img itself when it
// already has that size.
func editResized(img image.Image, w, h int) image.Image {
	if img == nil || w <= 0 || h <= 0 {
		return img
	}
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return img
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(out, out.Rect, img, b, xdraw.Src, nil)
	return out
}

// editThumbnail returns img scaled so that its longer side is at most side
// pixels.
func editThumbnail(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	if w >= h {
		return editResized(img, side, max(1, h*side/w))
	}
	return editResized(img, max(1, w*side/h), side)
}
