package tensor

import (
	"fmt"
	"testing"
)

func TestMerge2x2(t *testing.T) {
	r := newRNG(14)
	c := NewCPU(2)
	for _, g := range [][2]int{{2, 2}, {4, 6}, {10, 2}} {
		gh, gw, e := g[0], g[1], 5
		xv := randVals(r, gh*gw*e, 1)
		got := c.Merge2x2(c.FromFloat32(xv, gh*gw, e), gh, gw)
		if !sameDims(got.Shape(), []int{gh * gw / 4, 4 * e}) {
			t.Fatalf("Merge2x2 %dx%d: shape %v", gh, gw, got.Shape())
		}
		want := make([]float32, len(xv))
		for rr := 0; rr < gh/2; rr++ {
			for cc := 0; cc < gw/2; cc++ {
				for ee := range e {
					for dy := range 2 {
						for dx := range 2 {
							want[(rr*(gw/2)+cc)*4*e+ee*4+dy*2+dx] = xv[((2*rr+dy)*gw+2*cc+dx)*e+ee]
						}
					}
				}
			}
		}
		checkSame(t, fmt.Sprintf("Merge2x2 %dx%d", gh, gw), c.Float32(got), want)
	}
	mustPanic(t, []string{"tensor.Merge2x2:", "3×4"}, func() { c.Merge2x2(c.Zeros(12, 2), 3, 4) })
	mustPanic(t, []string{"tensor.Merge2x2:", "[12 2]", "[2·4, E]"}, func() { c.Merge2x2(c.Zeros(12, 2), 2, 4) })
}

func TestPixelShuffle(t *testing.T) {
	r := newRNG(15)
	c := NewCPU(2)
	for _, cs := range []struct{ ch, rr, h, w int }{{1, 1, 3, 4}, {3, 2, 5, 7}, {2, 4, 3, 2}} {
		xv := randVals(r, cs.ch*cs.rr*cs.rr*cs.h*cs.w, 1)
		got := c.PixelShuffle(c.FromFloat32(xv, cs.ch*cs.rr*cs.rr, cs.h, cs.w), cs.rr)
		H, W := cs.h*cs.rr, cs.w*cs.rr
		if !sameDims(got.Shape(), []int{cs.ch, H, W}) {
			t.Fatalf("PixelShuffle shape %v", got.Shape())
		}
		want := make([]float32, len(xv))
		for cc := range cs.ch {
			for i := range cs.rr {
				for j := range cs.rr {
					for y := range cs.h {
						for x := range cs.w {
							in := ((cc*cs.rr*cs.rr+i*cs.rr+j)*cs.h+y)*cs.w + x
							want[(cc*H+y*cs.rr+i)*W+x*cs.rr+j] = xv[in]
						}
					}
				}
			}
		}
		checkSame(t, fmt.Sprintf("PixelShuffle %+v", cs), c.Float32(got), want)
	}
	mustPanic(t, []string{"tensor.PixelShuffle:", "[6 2 2]", "2²"}, func() { c.PixelShuffle(c.Zeros(6, 2, 2), 2) })
}

func TestPatches(t *testing.T) {
	r := newRNG(16)
	c := NewCPU(2)
	for _, cs := range []struct{ ch, h, w, p int }{{3, 4, 6, 2}, {1, 5, 5, 5}, {3, 32, 64, 16}, {2, 3, 9, 3}} {
		for _, last := range []bool{false, true} {
			name := fmt.Sprintf("patches %+v channelLast=%v", cs, last)
			xv := randVals(r, cs.ch*cs.h*cs.w, 1)
			img := c.FromFloat32(xv, cs.ch, cs.h, cs.w)
			pt := c.ImageToPatches(img, cs.p, last)
			gw := cs.w / cs.p
			n, k := (cs.h/cs.p)*gw, cs.ch*cs.p*cs.p
			if !sameDims(pt.Shape(), []int{n, k}) {
				t.Fatalf("%s: shape %v", name, pt.Shape())
			}
			want := make([]float32, len(xv))
			for pi := range n {
				pr, pc := pi/gw, pi%gw
				for cc := range cs.ch {
					for y := range cs.p {
						for x := range cs.p {
							idx := (cc*cs.p+y)*cs.p + x
							if last {
								idx = (y*cs.p+x)*cs.ch + cc
							}
							want[pi*k+idx] = xv[(cc*cs.h+pr*cs.p+y)*cs.w+pc*cs.p+x]
						}
					}
				}
			}
			got := c.Float32(pt)
			checkSame(t, name, got, want)
			back := c.PatchesToImage(pt, cs.ch, cs.h, cs.w, cs.p, last)
			if !sameDims(back.Shape(), []int{cs.ch, cs.h, cs.w}) {
				t.Fatalf("%s: inverse shape %v", name, back.Shape())
			}
			checkSame(t, name+" round trip", c.Float32(back), xv)
		}
	}
	mustPanic(t, []string{"tensor.ImageToPatches:", "[3 4 6]", "4"}, func() { c.ImageToPatches(c.Zeros(3, 4, 6), 4, false) })
	mustPanic(t, []string{"tensor.PatchesToImage:", "[6 12]", "[6 8]"}, func() { c.PatchesToImage(c.Zeros(6, 12), 2, 4, 6, 2, false) })
	mustPanic(t, []string{"tensor.PatchesToImage:", "5×6"}, func() { c.PatchesToImage(c.Zeros(6, 12), 3, 5, 6, 2, false) })
}

// Every op, run twice with several workers and once with one: the same bits
// (work is split so that no result depends on scheduling).
func TestDeterminism(t *testing.T) {
	run := func(c *CPU) [][]float32 {
		r := newRNG(99)
		x := c.FromFloat32(randVals(r, 150*200, 1), 150, 200)
		w := c.FromFloat32(randVals(r, 130*200, 1), 130, 200)
		q := c.FromFloat32(randVals(r, 70*64, 1), 70, 64)
		kv := c.FromFloat32(randVals(r, 90*32, 1), 90, 32)
		img := c.FromFloat32(randVals(r, 8*20*20, 1), 8, 20, 20)
		cw := c.FromFloat32(randVals(r, 6*8*9, 1), 6, 8, 3, 3)
		return [][]float32{
			c.Float32(c.Linear(x, w, nil)),
			c.Float32(c.Linear(c.Rows(x, 0, 1), w, nil)),
			c.Float32(c.Attention(q, kv, kv, 90, 4, 2, 0.25, nil)),
			c.Float32(c.Conv3x3(img, cw, nil)),
			c.Float32(c.RMSNorm(x, c.FromFloat32(randVals(r, 200, 1), 200), 1e-6)),
			c.Float32(c.GELU(x)),
		}
	}
	a, b, one := run(NewCPU(4)), run(NewCPU(4)), run(NewCPU(1))
	for i := range a {
		checkSame(t, fmt.Sprintf("result %d run twice", i), b[i], a[i])
		checkSame(t, fmt.Sprintf("result %d on one worker", i), one[i], a[i])
	}
}
