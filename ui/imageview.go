package ui

import (
	"image"
	"image/color"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// View is the zoom and pan of one or more linked ImageViews: Zoom is the
// scale from picture pixels to screen units relative to "fit" (1 = the
// whole picture fits), Center the picture point (in picture pixels) shown
// at the middle of the view.
type View struct {
	mu        sync.Mutex
	zoom      float32
	center    fyne.Position
	listeners []func()
}

// NewView returns a view that fits the picture.
func NewView() *View { return &View{zoom: 1} }

func (v *View) get() (float32, fyne.Position) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.zoom, v.center
}

func (v *View) set(zoom float32, center fyne.Position) {
	v.mu.Lock()
	v.zoom, v.center = zoom, center
	ls := append([]func(){}, v.listeners...)
	v.mu.Unlock()
	for _, l := range ls {
		l()
	}
}

func (v *View) listen(f func()) {
	v.mu.Lock()
	v.listeners = append(v.listeners, f)
	v.mu.Unlock()
}

// Reset fits the picture again.
func (v *View) Reset() { v.set(1, fyne.Position{}) }

// Zoom returns the current zoom (1 = fit).
func (v *View) Zoom() float32 {
	z, _ := v.get()
	return z
}

const (
	minZoom = 1
	maxZoom = 32
)

// ImageView shows a picture that can be zoomed (mouse wheel, or ZoomIn /
// ZoomOut) and panned (drag); a double tap fits it again. Views that share
// a *View move together (the editing screen's before and after). Only the
// visible part of the picture is drawn, so it never spills over its
// neighbours.
type ImageView struct {
	widget.BaseWidget
	mu   sync.Mutex
	img  image.Image
	view *View

	raster *canvas.Image
	bg     *canvas.Rectangle
	// Placeholder is shown while there is no picture.
	placeholder *widget.Label
}

// NewImageView makes a view; view may be shared with other ImageViews (nil
// makes a private one).
func NewImageView(view *View, placeholder string) *ImageView {
	if view == nil {
		view = NewView()
	}
	iv := &ImageView{view: view, placeholder: widget.NewLabel(placeholder)}
	iv.placeholder.Alignment = fyne.TextAlignCenter
	iv.placeholder.Wrapping = fyne.TextWrapWord
	iv.raster = canvas.NewImageFromImage(nil)
	iv.raster.FillMode = canvas.ImageFillStretch
	iv.raster.ScaleMode = canvas.ImageScaleFastest
	iv.bg = canvas.NewRectangle(color.NRGBA{A: 0})
	iv.ExtendBaseWidget(iv)
	view.listen(func() { fyne.Do(iv.Refresh) })
	return iv
}

// SetImage shows a picture (nil clears it).
func (iv *ImageView) SetImage(img image.Image) {
	iv.mu.Lock()
	iv.img = img
	iv.mu.Unlock()
	iv.Refresh()
}

// Image returns the picture shown.
func (iv *ImageView) Image() image.Image {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return iv.img
}

// View is the zoom/pan state this view follows.
func (iv *ImageView) View() *View { return iv.view }

// ZoomIn and ZoomOut change the zoom by a factor of √2 around the centre.
func (iv *ImageView) ZoomIn()  { iv.zoomBy(math.Sqrt2, nil) }
func (iv *ImageView) ZoomOut() { iv.zoomBy(1/math.Sqrt2, nil) }

// fitScale is the screen units per picture pixel at zoom 1.
func fitScale(img image.Image, size fyne.Size) float32 {
	b := img.Bounds()
	if b.Dx() == 0 || b.Dy() == 0 || size.Width <= 0 || size.Height <= 0 {
		return 1
	}
	return float32(math.Min(float64(size.Width)/float64(b.Dx()), float64(size.Height)/float64(b.Dy())))
}

// zoomBy scales the zoom; at is the screen point that stays fixed (nil:
// the centre).
func (iv *ImageView) zoomBy(f float64, at *fyne.Position) {
	img := iv.Image()
	if img == nil {
		return
	}
	z, c := iv.view.get()
	if z <= 1 { // a fitted picture is centred whatever the stored centre
		b := img.Bounds()
		c = fyne.NewPos(float32(b.Dx())/2, float32(b.Dy())/2)
	}
	nz := float32(math.Max(minZoom, math.Min(maxZoom, float64(z)*f)))
	if at != nil {
		size := iv.Size()
		s := fitScale(img, size) * z
		ns := fitScale(img, size) * nz
		// The picture point under the cursor stays under it.
		dx, dy := at.X-size.Width/2, at.Y-size.Height/2
		px, py := c.X+dx/s, c.Y+dy/s
		c = fyne.NewPos(px-dx/ns, py-dy/ns)
	}
	iv.view.set(nz, c)
}

// Scrolled zooms with the mouse wheel around the pointer.
func (iv *ImageView) Scrolled(ev *fyne.ScrollEvent) {
	f := math.Pow(1.0015, float64(ev.Scrolled.DY))
	pos := ev.Position
	iv.zoomBy(f, &pos)
}

// Dragged pans the picture.
func (iv *ImageView) Dragged(ev *fyne.DragEvent) {
	img := iv.Image()
	if img == nil {
		return
	}
	z, c := iv.view.get()
	s := fitScale(img, iv.Size()) * z
	iv.view.set(z, fyne.NewPos(c.X-ev.Dragged.DX/s, c.Y-ev.Dragged.DY/s))
}

// DragEnd is required by fyne.Draggable.
func (iv *ImageView) DragEnd() {}

// DoubleTapped fits the picture again.
func (iv *ImageView) DoubleTapped(*fyne.PointEvent) { iv.view.Reset() }

// visible computes the part of the picture to draw and where: the source
// rectangle (picture pixels) and the destination (widget units).
func visible(img image.Image, size fyne.Size, zoom float32, center fyne.Position) (src image.Rectangle, pos fyne.Position, dst fyne.Size) {
	b := img.Bounds()
	w, h := float32(b.Dx()), float32(b.Dy())
	s := fitScale(img, size) * zoom
	if zoom <= 1 {
		center = fyne.NewPos(w/2, h/2)
	}
	// Keep the view inside the picture.
	halfW, halfH := size.Width/2/s, size.Height/2/s
	clampC := func(c, half, full float32) float32 {
		if 2*half >= full {
			return full / 2
		}
		return float32(math.Max(float64(half), math.Min(float64(full-half), float64(c))))
	}
	cx, cy := clampC(center.X, halfW, w), clampC(center.Y, halfH, h)
	x0, y0 := math.Max(0, float64(cx-halfW)), math.Max(0, float64(cy-halfH))
	x1, y1 := math.Min(float64(w), float64(cx+halfW)), math.Min(float64(h), float64(cy+halfH))
	src = image.Rect(b.Min.X+int(math.Floor(x0)), b.Min.Y+int(math.Floor(y0)), b.Min.X+int(math.Ceil(x1)), b.Min.Y+int(math.Ceil(y1)))
	dst = fyne.NewSize(float32(src.Dx())*s, float32(src.Dy())*s)
	left := (float32(src.Min.X-b.Min.X) - (cx - halfW)) * s
	top := (float32(src.Min.Y-b.Min.Y) - (cy - halfH)) * s
	pos = fyne.NewPos(left, top)
	return src, pos, dst
}

type subImager interface {
	SubImage(r image.Rectangle) image.Image
}

func (iv *ImageView) CreateRenderer() fyne.WidgetRenderer {
	return &imageViewRenderer{iv: iv}
}

type imageViewRenderer struct{ iv *ImageView }

func (r *imageViewRenderer) Layout(size fyne.Size) {
	iv := r.iv
	iv.bg.Resize(size)
	iv.placeholder.Resize(size)
	img := iv.Image()
	if img == nil {
		return
	}
	zoom, center := iv.view.get()
	src, pos, dst := visible(img, size, zoom, center)
	if si, ok := img.(subImager); ok && src != img.Bounds() {
		iv.raster.Image = si.SubImage(src)
	} else {
		iv.raster.Image = img
	}
	iv.raster.Move(pos)
	iv.raster.Resize(dst)
}

func (r *imageViewRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 90) }

func (r *imageViewRenderer) Refresh() {
	iv := r.iv
	has := iv.Image() != nil
	iv.raster.Hidden = !has
	iv.placeholder.Hidden = has
	r.Layout(iv.Size())
	iv.raster.Refresh()
	iv.placeholder.Refresh()
}

func (r *imageViewRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.iv.bg, r.iv.raster, r.iv.placeholder}
}

func (r *imageViewRenderer) Destroy() {}
