// Command pkgtool does the two steps of packaging that shell tools do badly:
//
//	pkgtool version -describe "$(git describe --tags --always --dirty)" -base 0.1.0 -commits 123 -format deb|win
//	pkgtool ico -o icon.ico assets/icon.png
//
// version maps `git describe` to a Debian package version (which must sort
// correctly, so an untagged build is a pre-release of the FyneApp.toml
// version) or to the four numbers of a Windows version resource; ico writes
// a Windows icon (PNG images at 256, 48, 32 and 16 pixels) for the .exe's
// resources and the installer. packaging/README.md says how they are used.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/image/draw"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pkgtool:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: pkgtool version|ico [flags]")
	}
	switch args[0] {
	case "version":
		fs := flag.NewFlagSet("version", flag.ContinueOnError)
		describe := fs.String("describe", "", "the output of git describe --tags --always --dirty")
		base := fs.String("base", "", "the version being worked towards (FyneApp.toml's Version), used when no tag is reachable")
		commits := fs.Int("commits", 0, "the number of commits (git rev-list --count HEAD), used when no tag is reachable")
		format := fs.String("format", "deb", "deb (a Debian version) or win (four numbers a.b.c.d)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		v, err := parseDescribe(*describe, *base, *commits)
		if err != nil {
			return err
		}
		switch *format {
		case "deb":
			s, err := v.debian()
			if err != nil {
				return err
			}
			fmt.Fprintln(out, s)
		case "win":
			s, err := v.windows()
			if err != nil {
				return err
			}
			fmt.Fprintln(out, s)
		default:
			return fmt.Errorf("version: -format %q: want deb or win", *format)
		}
		return nil
	case "ico":
		fs := flag.NewFlagSet("ico", flag.ContinueOnError)
		output := fs.String("o", "", "the .ico file to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *output == "" || fs.NArg() != 1 {
			return errors.New("usage: pkgtool ico -o out.ico in.png")
		}
		return writeICO(fs.Arg(0), *output)
	}
	return fmt.Errorf("unknown command %q (want version or ico)", args[0])
}

// gitVersion is what `git describe --tags --always --dirty` says.
type gitVersion struct {
	tag     string // the release, without a leading "v"; "" when no tag is reachable
	since   int    // commits after the tag (or, without a tag, in all)
	hash    string // abbreviated commit; "" for a build exactly at a tag
	dirty   bool
	base    string // the version worked towards, when there is no tag
	noGit   bool   // describe was "dev" or empty: no git at all
	release []int  // the numbers of tag (or base)
}

var (
	describedRe = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{4,40})$`)
	hashRe      = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
	releaseRe   = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9]+){0,3})([-.~+][0-9A-Za-z.~+-]*)?$`)
)

// parseDescribe reads git describe's output; base and commits stand in for
// the missing tag of a repository without one.
func parseDescribe(describe, base string, commits int) (gitVersion, error) {
	d := strings.TrimSpace(describe)
	var v gitVersion
	d, v.dirty = strings.CutSuffix(d, "-dirty")
	tag := ""
	switch m := describedRe.FindStringSubmatch(d); {
	case d == "" || d == "dev":
		v.noGit = true
	case m != nil:
		tag, v.hash = m[1], m[3]
		v.since, _ = strconv.Atoi(m[2])
	case releaseRe.MatchString(d) && !hashRe.MatchString(d):
		tag = d
	case hashRe.MatchString(d):
		v.hash, v.since = d, commits
	default:
		return v, fmt.Errorf("version: cannot read %q as git describe output (want TAG, TAG-N-gHASH or HASH, with an optional -dirty; tags look like v1.2.3)", describe)
	}
	release := tag
	if tag == "" {
		if base == "" {
			return v, fmt.Errorf("version: %q has no tag, and no -base version was given", describe)
		}
		release, v.base = base, base
	}
	m := releaseRe.FindStringSubmatch(release)
	if m == nil {
		return v, fmt.Errorf("version: %q is not a release number like 1.2.3", release)
	}
	for _, n := range strings.Split(m[1], ".") {
		x, _ := strconv.Atoi(n)
		v.release = append(v.release, x)
	}
	v.tag = strings.TrimPrefix(tag, "v")
	return v, nil
}

var debianRe = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// debian is the Debian version (no revision; Debian policy 5.6.12):
//
//	v1.2.0                 → 1.2.0
//	v1.3.0-rc1             → 1.3.0~rc1          (sorts before 1.3.0)
//	v1.2.0-5-gabc1234      → 1.2.0+5.gabc1234   (after 1.2.0, before 1.2.1)
//	abc1234 (no tag yet)   → 0.1.0~git42.gabc1234 with base 0.1.0 and 42 commits (before 0.1.0)
//	…-dirty                → the same + ".dirty" (at a tag: 1.2.0+0.dirty)
func (v gitVersion) debian() (string, error) {
	var s string
	switch {
	case v.noGit:
		s = v.base + "~dev"
	case v.tag == "":
		s = fmt.Sprintf("%s~git%d.g%s", v.base, v.since, v.hash)
	case v.hash == "":
		s = strings.ReplaceAll(v.tag, "-", "~")
	default:
		s = fmt.Sprintf("%s+%d.g%s", strings.ReplaceAll(v.tag, "-", "~"), v.since, v.hash)
	}
	if v.dirty {
		if v.tag != "" && v.hash == "" {
			s += "+0" // before the next commit's +1.gHASH
		}
		s += ".dirty"
	}
	if !debianRe.MatchString(s) {
		return "", fmt.Errorf("version: %q is not a valid Debian version", s)
	}
	return s, nil
}

// windows is the a.b.c.d of a version resource and of the installer: the
// release's three numbers and the commits since the tag (each at most
// 65535).
func (v gitVersion) windows() (string, error) {
	n := append(append([]int(nil), v.release...), 0, 0, 0)[:3]
	n = append(n, v.since)
	parts := make([]string, 4)
	for i, x := range n {
		if x > 65535 {
			return "", fmt.Errorf("version: %d does not fit a Windows version number (at most 65535)", x)
		}
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, "."), nil
}

// icoSizes are the images an .ico carries: 256 for Explorer's large views,
// 48/32/16 for lists, the taskbar and title bars.
var icoSizes = []int{256, 48, 32, 16}

func writeICO(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	src, err := png.Decode(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("ico: %s: %w", in, err)
	}
	data, err := encodeICO(src)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// encodeICO writes an ICO file whose images are PNGs (Windows Vista and
// later read them), scaled from src with Catmull-Rom.
func encodeICO(src image.Image) ([]byte, error) {
	b := src.Bounds()
	if b.Dx() < 256 || b.Dy() < 256 {
		return nil, fmt.Errorf("ico: the picture is %dx%d; at least 256x256 is needed", b.Dx(), b.Dy())
	}
	var images [][]byte
	for _, size := range icoSizes {
		dst := image.NewNRGBA(image.Rect(0, 0, size, size))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		var buf bytes.Buffer
		if err := png.Encode(&buf, dst); err != nil {
			return nil, err
		}
		images = append(images, buf.Bytes())
	}
	var out bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&out, le, [3]uint16{0, 1, uint16(len(images))}) // reserved, type 1 = icon, count
	offset := 6 + 16*len(images)
	for i, size := range icoSizes {
		dim := byte(size % 256) // 0 means 256
		out.Write([]byte{dim, dim, 0, 0})
		binary.Write(&out, le, [2]uint16{1, 32}) // colour planes, bits per pixel
		binary.Write(&out, le, [2]uint32{uint32(len(images[i])), uint32(offset)})
		offset += len(images[i])
	}
	for _, img := range images {
		out.Write(img)
	}
	return out.Bytes(), nil
}
