package montage

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
)

// Fonts is the font the montage's text is drawn with. Its methods are safe
// for concurrent use.
type Fonts struct {
	font *opentype.Font
	name string // full name from the font's name table, or the file name
	path string // "" for the built-in font
	cjk  bool   // has a glyph for 中
}

// Name reports which font was chosen: its full name ("Noto Sans CJK JP",
// "DejaVu Sans", …), with "(built-in)" appended for the fallback.
func (f *Fonts) Name() string {
	if f == nil {
		return ""
	}
	if f.path == "" {
		return f.name + " (built-in)"
	}
	return f.name
}

// Path is the font file the font was read from, or "" for the built-in one.
func (f *Fonts) Path() string {
	if f == nil {
		return ""
	}
	return f.path
}

// HasCJK reports whether the font has CJK ideographs (a glyph for 中). When
// it does not, CJK characters are drawn as the font's missing-glyph box.
func (f *Fonts) HasCJK() bool { return f != nil && f.cjk }

// HasCJKText reports whether s contains a CJK unified ideograph
// (U+4E00–U+9FFF), the characters the reference warns about when no CJK font
// was found.
func HasCJKText(s string) bool {
	for _, r := range s {
		if isCJK(r) {
			return true
		}
	}
	return false
}

func isCJK(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }

// face returns a new face of the font at size pixels per em (Pillow's
// ImageFont.truetype size). A face is not safe for concurrent use, so each
// Compare call makes its own.
func (f *Fonts) face(size int) (font.Face, error) {
	face, err := opentype.NewFace(f.font, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("font %s at size %d: %w", f.Name(), size, err)
	}
	return face, nil
}

// LoadFont reads a TrueType or OpenType font file; of a collection (.ttc,
// .otc) the first font is used, as Pillow does by default.
func LoadFont(path string) (*Fonts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", path, err)
	}
	f, err := parseFont(data)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", path, err)
	}
	return newFonts(f, path), nil
}

func parseFont(data []byte) (*opentype.Font, error) {
	if len(data) >= 4 && string(data[:4]) == "ttcf" {
		c, err := opentype.ParseCollection(data)
		if err != nil {
			return nil, err
		}
		if c.NumFonts() < 1 {
			return nil, fmt.Errorf("font collection holds no font")
		}
		return c.Font(0)
	}
	return opentype.Parse(data)
}

func newFonts(f *opentype.Font, path string) *Fonts {
	var buf sfnt.Buffer
	name, err := f.Name(&buf, sfnt.NameIDFull)
	if err != nil || name == "" {
		name, err = f.Name(&buf, sfnt.NameIDFamily)
	}
	if err != nil || name == "" {
		name = filepath.Base(path)
	}
	idx, err := f.GlyphIndex(&buf, '中')
	return &Fonts{font: f, name: name, path: path, cjk: err == nil && idx != 0}
}

// builtinFonts is the last fallback: Go Regular, compiled in.
func builtinFonts() *Fonts {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		// The embedded font is a fixed, valid file; this cannot happen.
		panic(fmt.Sprintf("montage: parsing the built-in Go Regular font: %v", err))
	}
	fonts := newFonts(f, "")
	fonts.name = "Go Regular"
	return fonts
}

var (
	findOnce  sync.Once
	findFound *Fonts
)

// FindFonts finds a font the way the reference does: the first loadable of
// the system CJK fonts (Noto Sans CJK, then WenQuanYi Micro Hei / Zen Hei),
// then DejaVu Sans, then the built-in Go Regular (in place of Pillow's
// built-in font). It looks in the usual font folders — /usr/share/fonts,
// /usr/local/share/fonts, the XDG data folders and ~/.fonts on Linux and
// the BSDs, /System/Library/Fonts, /Library/Fonts and ~/Library/Fonts on
// macOS, %WINDIR%\Fonts and the per-user font folder on Windows — including
// their sub-folders, and accepts .ttf, .otf and .ttc/.otc collections (first
// font of a collection). The search runs once per process; it never returns
// nil.
func FindFonts() *Fonts {
	findOnce.Do(func() { findFound = findFonts(systemFontDirs()) })
	return findFound
}

// fontGroups lists, in the order of preference, which font file names
// (lower-cased base names) each step of the search accepts.
var fontGroups = []func(name string) bool{
	// Noto Sans CJK, regular weight: NotoSansCJK-Regular.ttc (Debian, Arch,
	// Fedora), NotoSansCJKsc-Regular.otf (single-language OTFs).
	func(n string) bool { return strings.HasPrefix(n, "notosanscjk") && strings.Contains(n, "-regular.") },
	// Noto Sans CJK in another packaging (variable font, other weights).
	func(n string) bool { return strings.HasPrefix(n, "notosanscjk") },
	// The per-language re-release of Noto Sans CJK (NotoSansSC-Regular.otf).
	func(n string) bool {
		for _, l := range []string{"sc", "tc", "hk", "jp", "kr"} {
			if strings.HasPrefix(n, "notosans"+l+"-regular.") {
				return true
			}
		}
		return false
	},
	func(n string) bool { return strings.HasPrefix(n, "wqy-microhei.") },
	func(n string) bool { return strings.HasPrefix(n, "wqy-zenhei.") },
	func(n string) bool { return n == "dejavusans.ttf" },
}

func isFontFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ttf", ".otf", ".ttc", ".otc":
		return true
	}
	return false
}

// Limits of the folder walk, so that a huge or looping font tree cannot
// stall the montage.
const (
	maxWalkDepth   = 6
	maxWalkEntries = 100000
)

// findFonts searches dirs (and their sub-folders) and returns the first
// loadable font of the first group that has one, or the built-in font.
func findFonts(dirs []string) *Fonts {
	candidates := make([][]string, len(fontGroups))
	seen := map[string]bool{}
	entries := 0
	for _, root := range dirs {
		if root == "" {
			continue
		}
		root = filepath.Clean(root)
		if seen[root] {
			continue
		}
		seen[root] = true
		rootDepth := strings.Count(root, string(filepath.Separator))
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			entries++
			if entries > maxWalkEntries {
				return fs.SkipAll
			}
			if d.IsDir() {
				if path != root && (seen[path] || strings.Count(path, string(filepath.Separator))-rootDepth >= maxWalkDepth) {
					return fs.SkipDir
				}
				seen[path] = true
				return nil
			}
			if !isFontFile(path) {
				return nil
			}
			name := strings.ToLower(d.Name())
			for g, match := range fontGroups {
				if match(name) {
					candidates[g] = append(candidates[g], path)
					break
				}
			}
			return nil
		})
	}
	for _, paths := range candidates {
		sort.Strings(paths)
		for _, p := range paths {
			if f, err := LoadFont(p); err == nil {
				return f
			}
		}
	}
	return builtinFonts()
}

// systemFontDirs lists the font folders of the running system.
func systemFontDirs() []string {
	home, _ := os.UserHomeDir()
	var dirs []string
	switch runtime.GOOS {
	case "windows":
		windir := os.Getenv("WINDIR")
		if windir == "" {
			windir = os.Getenv("SystemRoot")
		}
		if windir == "" {
			windir = `C:\Windows`
		}
		dirs = append(dirs, filepath.Join(windir, "Fonts"))
		if local := os.Getenv("LOCALAPPDATA"); local != "" {
			dirs = append(dirs, filepath.Join(local, "Microsoft", "Windows", "Fonts"))
		}
	case "darwin", "ios":
		dirs = append(dirs, "/System/Library/Fonts", "/Library/Fonts")
		if home != "" {
			dirs = append(dirs, filepath.Join(home, "Library", "Fonts"))
		}
		// Fonts installed by Homebrew or MacPorts' fontconfig.
		dirs = append(dirs, "/opt/homebrew/share/fonts", "/usr/local/share/fonts", "/opt/local/share/fonts")
	default:
		dataHome := os.Getenv("XDG_DATA_HOME")
		if dataHome == "" && home != "" {
			dataHome = filepath.Join(home, ".local", "share")
		}
		if dataHome != "" {
			dirs = append(dirs, filepath.Join(dataHome, "fonts"))
		}
		if home != "" {
			dirs = append(dirs, filepath.Join(home, ".fonts"))
		}
		dataDirs := os.Getenv("XDG_DATA_DIRS")
		if dataDirs == "" {
			dataDirs = "/usr/local/share:/usr/share"
		}
		for _, d := range filepath.SplitList(dataDirs) {
			if d != "" {
				dirs = append(dirs, filepath.Join(d, "fonts"))
			}
		}
		dirs = append(dirs, "/usr/share/fonts", "/usr/local/share/fonts", "/usr/X11R6/lib/X11/fonts")
	}
	return dirs
}
