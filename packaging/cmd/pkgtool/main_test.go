package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestVersions(t *testing.T) {
	cases := []struct {
		describe string
		commits  int
		deb, win string
	}{
		{"v0.1.0", 0, "0.1.0", "0.1.0.0"},
		{"0.2.0", 0, "0.2.0", "0.2.0.0"},
		{"v0.1.0-dirty", 0, "0.1.0+0.dirty", "0.1.0.0"},
		{"v0.1.0-12-gabc1234", 0, "0.1.0+12.gabc1234", "0.1.0.12"},
		{"v0.1.0-12-gabc1234-dirty", 0, "0.1.0+12.gabc1234.dirty", "0.1.0.12"},
		{"v1.3.0-rc1", 0, "1.3.0~rc1", "1.3.0.0"},
		{"v1.3.0-rc1-2-g0123abc", 0, "1.3.0~rc1+2.g0123abc", "1.3.0.2"},
		{"v2", 0, "2", "2.0.0.0"},
		{"1c3459e", 57, "0.1.0~git57.g1c3459e", "0.1.0.57"},
		{"1c3459e-dirty", 57, "0.1.0~git57.g1c3459e.dirty", "0.1.0.57"},
		{"dev", 0, "0.1.0~dev", "0.1.0.0"},
	}
	for _, c := range cases {
		for format, want := range map[string]string{"deb": c.deb, "win": c.win} {
			var out bytes.Buffer
			err := run([]string{"version", "-describe", c.describe, "-base", "0.1.0", "-commits", itoa(c.commits), "-format", format}, &out)
			if got := strings.TrimSpace(out.String()); err != nil || got != want {
				t.Errorf("%s as %s: %q, %v; want %q", c.describe, format, got, err, want)
			}
		}
	}
}

// TestDebianVersionsSort checks with dpkg itself that the mapping keeps
// the order of the builds: an untagged build before the release, a release
// candidate before the release, later commits after it.
func TestDebianVersionsSort(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg is not installed")
	}
	order := []struct {
		describe string
		commits  int
	}{
		{"abcdef0", 5}, {"1234567", 40}, {"v0.1.0-rc1", 0}, {"v0.1.0-rc1-3-gabc1234", 0},
		{"v0.1.0", 0}, {"v0.1.0-dirty", 0}, {"v0.1.0-2-gfedcba9", 0}, {"v0.1.0-10-g0000000", 0}, {"v0.1.1", 0},
	}
	var prev string
	for _, o := range order {
		v, err := parseDescribe(o.describe, "0.1.0", o.commits)
		if err != nil {
			t.Fatal(err)
		}
		deb, err := v.debian()
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := exec.Command(dpkg, "--compare-versions", prev, "lt", deb).Run(); err != nil {
				t.Errorf("dpkg does not sort %s before %s", prev, deb)
			}
		}
		prev = deb
	}
}

func TestVersionErrors(t *testing.T) {
	for _, c := range []struct{ describe, base, want string }{
		{"release_one", "0.1.0", "cannot read"},
		{"abc1234", "", "no -base"},
		{"abc1234", "zero", "not a release number"},
	} {
		err := run([]string{"version", "-describe", c.describe, "-base", c.base}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q (base %q): %v, want an error saying %q", c.describe, c.base, err, c.want)
		}
	}
	v, _ := parseDescribe("v0.1.0-70000-gabcdef0", "", 0)
	if _, err := v.windows(); err == nil {
		t.Error("70000 commits fit a Windows version number")
	}
}

func TestICO(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			src.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	data, err := encodeICO(src)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint16(data[0:]) != 0 || le.Uint16(data[2:]) != 1 || int(le.Uint16(data[4:])) != len(icoSizes) {
		t.Fatalf("header % x", data[:6])
	}
	for i, size := range icoSizes {
		entry := data[6+16*i:]
		w, h := int(entry[0]), int(entry[1])
		if w == 0 {
			w, h = 256, 256
		}
		n, off := le.Uint32(entry[8:]), le.Uint32(entry[12:])
		img, err := png.Decode(bytes.NewReader(data[off : off+n]))
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if b := img.Bounds(); w != size || h != size || b.Dx() != size || b.Dy() != size {
			t.Errorf("image %d: entry %dx%d, picture %v, want %d", i, w, h, b, size)
		}
	}
	if _, err := encodeICO(image.NewNRGBA(image.Rect(0, 0, 64, 64))); err == nil {
		t.Error("a 64x64 picture was accepted")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
