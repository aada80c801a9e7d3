package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sensenova/studio/inference/safetensors"
)

// Weight file names, as transformers saves them.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// Problem is one thing wrong with a checkpoint folder.
type Problem struct {
	// Tensor and File name what the problem is about, where known (File is
	// relative to the folder).
	Tensor string
	File   string
	// Msg is the full sentence, naming tensor, file, got and want.
	Msg string
	// Err is the underlying error, if any (a safetensors error, fs.ErrNotExist).
	Err error
}

// LayoutError lists every problem found while opening a checkpoint's
// weights: missing, mis-shaped or non-float tensors, broken shards and index
// entries. Unwrap gives the underlying errors, so errors.Is(err,
// fs.ErrNotExist) works for a missing shard.
type LayoutError struct {
	Dir      string
	Problems []Problem
}

// maxListedProblems bounds the lines Error prints; Problems holds all.
const maxListedProblems = 100

func (e *LayoutError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("checkpoint %s: %s", e.Dir, e.Problems[0].Msg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint %s: %d problems with the weights:", e.Dir, len(e.Problems))
	for i, p := range e.Problems {
		if i == maxListedProblems {
			fmt.Fprintf(&b, "\n\t... and %d more (LayoutError.Problems lists all)", len(e.Problems)-i)
			break
		}
		b.WriteString("\n\t")
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Unwrap returns the underlying errors of the problems.
func (e *LayoutError) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// Checkpoint is an open, validated model folder. Its methods may be called
// from several goroutines; Close must not race with them.
type Checkpoint struct {
	dir     string
	cfg     *Config
	shards  []*shard // by file name
	tensors map[string]entry
	names   []string // sorted
	fmWidth int64    // MLP fm_head inner width; 0 for the pixel head
	// unavailable names tensors the index puts in a missing or unreadable
	// shard (reported once, as that shard's problem).
	unavailable map[string]bool
	warnings    []string
	mapped      bool
	closed      bool
}

type shard struct {
	name string // file name inside dir
	file *safetensors.File
}

type entry struct {
	shard *shard
	info  safetensors.TensorInfo
}

// Open opens the model folder dir: config.json, then the weights as a
// single model.safetensors or as the shards of model.safetensors.index.json,
// each memory-mapped. The folder is validated against ExpectedTensors before
// Open returns: a config problem is returned as is (*ConfigError, or an
// error for missing or invalid JSON), every weight problem together in one
// *LayoutError. Tensors the layout does not name are kept and listed by
// Warnings, as transformers warns on unexpected keys.
func Open(dir string) (*Checkpoint, error) { return open(dir, true) }

// OpenHeaders validates like Open but reads only the safetensors headers:
// nothing is mapped, so Tensor and Float32 fail with
// safetensors.ErrNotMapped. Enough for inspection and parameter counts.
func OpenHeaders(dir string) (*Checkpoint, error) { return open(dir, false) }

func open(dir string, mapData bool) (*Checkpoint, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint %s: folder does not exist: %w", dir, err)
		}
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("checkpoint %s: not a folder (want the model folder holding config.json and the weights)", dir)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{dir: dir, cfg: cfg, tensors: make(map[string]entry), mapped: mapData}
	le := &LayoutError{Dir: dir}
	c.load(le)
	// Validate whatever could be read, so that every problem is reported at
	// once; tensors of unreadable shards are not reported again as missing.
	if len(c.shards) > 0 {
		c.validate(le)
	}
	if len(le.Problems) > 0 {
		c.Close()
		return nil, le
	}
	return c, nil
}

func (c *Checkpoint) addProblem(le *LayoutError, tensor, file string, err error, format string, args ...any) {
	le.Problems = append(le.Problems, Problem{Tensor: tensor, File: file, Msg: fmt.Sprintf(format, args...), Err: err})
}

func (c *Checkpoint) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// load finds and opens the weight files and builds the tensor table,
// reporting file-level problems.
func (c *Checkpoint) load(le *LayoutError) {
	var (
		files     []string
		weightMap map[string]string // from the index; nil for a single file
		metaTotal *int64
	)
	switch {
	case isFile(filepath.Join(c.dir, SingleFile)):
		files = []string{SingleFile}
		if isFile(filepath.Join(c.dir, IndexFile)) {
			c.warnf("%s is ignored: %s takes precedence, as in transformers", IndexFile, SingleFile)
		}
	case isFile(filepath.Join(c.dir, IndexFile)):
		var ok bool
		weightMap, metaTotal, ok = c.readIndex(le)
		if !ok {
			return
		}
		seen := make(map[string]bool)
		for _, f := range weightMap {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
		sort.Strings(files)
	default:
		c.addProblem(le, "", "", fs.ErrNotExist, "no weights: looked for %s and %s%s", SingleFile, IndexFile, c.otherWeightFiles())
		return
	}

	// Open every shard; tensors the index puts in an unreadable shard are
	// not reported again as missing.
	unavailable := make(map[string]bool)
	byFile := make(map[string]*shard)
	for _, name := range files {
		path := filepath.Join(c.dir, name)
		var f *safetensors.File
		var err error
		if !isFile(path) {
			if _, serr := os.Stat(path); serr != nil {
				err = serr
			} else {
				err = fmt.Errorf("%s is not a regular file", path)
			}
		} else if c.mapped {
			f, err = safetensors.Open(path)
		} else {
			f, err = safetensors.ReadHeader(path)
		}
		if err != nil {
			n, example := 0, ""
			for t, sf := range weightMap {
				if sf == name {
					unavailable[t] = true
					if n++; example == "" || t < example {
						example = t
					}
				}
			}
			switch {
			case errors.Is(err, fs.ErrNotExist) && weightMap != nil:
				c.addProblem(le, "", name, err, "%s names shard %s for %d tensor(s) (e.g. %q), but the file does not exist (incomplete download?)", IndexFile, name, n, example)
			default:
				c.addProblem(le, "", name, err, "cannot read %s: %v", name, err)
			}
			continue
		}
		s := &shard{name: name, file: f}
		c.shards = append(c.shards, s)
		byFile[name] = s
	}

	// Tensor table; a name stored twice is a problem whatever the index says.
	for _, s := range c.shards {
		for _, t := range s.file.Names() {
			info, _ := s.file.Info(t)
			if prev, dup := c.tensors[t]; dup {
				c.addProblem(le, t, s.name, nil, "tensor %q is stored in two shards, %s and %s", t, prev.shard.name, s.name)
				continue
			}
			c.tensors[t] = entry{shard: s, info: info}
		}
	}

	if weightMap != nil {
		names := make([]string, 0, len(weightMap))
		for t := range weightMap {
			names = append(names, t)
		}
		sort.Strings(names)
		for _, t := range names {
			file := weightMap[t]
			s, ok := byFile[file]
			if !ok {
				continue // shard missing or unreadable: reported above
			}
			if _, in := s.file.Info(t); in {
				continue
			}
			if e, elsewhere := c.tensors[t]; elsewhere {
				c.addProblem(le, t, file, nil, "%s puts tensor %q in %s, but that shard does not hold it (it is in %s)", IndexFile, t, file, e.shard.name)
			} else {
				c.addProblem(le, t, file, nil, "%s puts tensor %q in %s, but that shard does not hold it", IndexFile, t, file)
			}
			unavailable[t] = true
		}
		var unindexed []string
		for t, e := range c.tensors {
			if _, ok := weightMap[t]; !ok {
				unindexed = append(unindexed, fmt.Sprintf("%q (%s)", t, e.shard.name))
			}
		}
		if len(unindexed) > 0 {
			sort.Strings(unindexed)
			c.warnf("%d tensor(s) are in shards but not in %s: %s", len(unindexed), IndexFile, strings.Join(unindexed, ", "))
		}
		if metaTotal != nil && len(le.Problems) == 0 {
			var total int64
			for _, e := range c.tensors {
				total += e.info.End - e.info.Start
			}
			if total != *metaTotal {
				c.warnf("%s metadata.total_size is %d but the tensors hold %d bytes", IndexFile, *metaTotal, total)
			}
		}
	}
	c.unavailable = unavailable
}

// readIndex parses model.safetensors.index.json.
func (c *Checkpoint) readIndex(le *LayoutError) (map[string]string, *int64, bool) {
	path := filepath.Join(c.dir, IndexFile)
	data, err := os.ReadFile(path)
	if err != nil {
		c.addProblem(le, "", IndexFile, err, "reading %s: %v", IndexFile, err)
		return nil, nil, false
	}
	var idx struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap map[string]string          `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		c.addProblem(le, "", IndexFile, err, "%v", jsonError(IndexFile, data, err))
		return nil, nil, false
	}
	if len(idx.WeightMap) == 0 {
		c.addProblem(le, "", IndexFile, nil, "%s has no weight_map entries (want {\"weight_map\": {tensor name: shard file}})", IndexFile)
		return nil, nil, false
	}
	ok := true
	for t, f := range idx.WeightMap {
		if f == "" || f != filepath.Base(f) || f == "." || f == ".." || strings.ContainsAny(f, `/\`) {
			c.addProblem(le, t, IndexFile, nil, "%s maps tensor %q to %q: want a file name inside the model folder", IndexFile, t, f)
			ok = false
		}
	}
	var total *int64
	if raw, has := idx.Metadata["total_size"]; has {
		if n, isInt := parseInt(raw); isInt {
			total = &n
		}
	}
	return idx.WeightMap, total, ok
}

// otherWeightFiles describes weight-like files in dir that this loader does
// not read, for the "no weights" message.
func (c *Checkpoint) otherWeightFiles() string {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return ""
	}
	var st, other []string
	for _, e := range entries {
		n := e.Name()
		switch ext := strings.ToLower(filepath.Ext(n)); ext {
		case ".safetensors":
			st = append(st, n)
		case ".gguf", ".bin", ".pt", ".pth", ".ckpt":
			other = append(other, n)
		}
	}
	var parts []string
	if len(st) > 0 {
		parts = append(parts, fmt.Sprintf("found %s, but shards are read through %s", strings.Join(st, ", "), IndexFile))
	}
	if len(other) > 0 {
		parts = append(parts, fmt.Sprintf("found %s, which this loader does not read (want safetensors)", strings.Join(other, ", ")))
	}
	if len(parts) == 0 {
		return " (the folder holds no weight files)"
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// floatDType reports whether the engine accepts dt for weights.
func floatDType(dt safetensors.DType) bool {
	return dt == safetensors.BF16 || dt == safetensors.F16 || dt == safetensors.F32
}

// validate checks the tensor table against ExpectedTensors.
func (c *Checkpoint) validate(le *LayoutError) {
	specs := ExpectedTensors(c.cfg)
	expected := make(map[string]bool, len(specs))
	for _, s := range specs {
		expected[s.Name] = true
	}

	// Bind the fm_head inner width from the first symbolic tensor whose
	// fixed dimensions fit (fm_head.0.weight comes first).
	width, widthFrom := int64(-1), ""
	for _, s := range specs {
		e, ok := c.tensors[s.Name]
		if !ok || !s.Symbolic() || len(e.info.Shape) != len(s.Shape) {
			continue
		}
		fits, w := true, int64(-1)
		for i, d := range s.Shape {
			got := e.info.Shape[i]
			if d == DimFMHeadWidth {
				if got <= 0 || (w >= 0 && got != w) {
					fits = false
				}
				w = got
			} else if got != d {
				fits = false
			}
		}
		if fits {
			width, widthFrom = w, s.Name
			break
		}
	}

	var missing []TensorSpec
	for _, s := range specs {
		e, ok := c.tensors[s.Name]
		if !ok {
			if !s.Optional && !c.unavailable[s.Name] {
				missing = append(missing, s)
			}
			continue
		}
		if !floatDType(e.info.DType) {
			c.addProblem(le, s.Name, e.shard.name, nil, "tensor %q in %s has dtype %s, want a float type (BF16, F16 or F32)", s.Name, e.shard.name, e.info.DType)
		}
		want := s.Shape
		if s.Symbolic() && width > 0 {
			want = resolveShape(s.Shape, width)
		}
		if !shapeMatches(e.info.Shape, want) {
			note := ""
			if s.Symbolic() {
				if width > 0 {
					note = fmt.Sprintf(" (W = fm_head inner width %d, read from %s)", width, widthFrom)
				} else {
					note = " (W = fm_head inner width, read from the weights)"
				}
			}
			c.addProblem(le, s.Name, e.shard.name, nil, "tensor %q in %s has shape %v, want %s%s", s.Name, e.shard.name, e.info.Shape, formatShape(want), note)
		}
	}
	for _, s := range missing {
		c.addProblem(le, s.Name, "", nil, "tensor %q (%s, shape %s) is missing%s", s.Name, s.Group, formatShape(s.Shape), c.missingHint(s.Name))
	}
	if !c.cfg.UsePixelHead && width > 0 {
		c.fmWidth = width
	}

	var unexpected []string
	for t := range c.tensors {
		if !expected[t] {
			unexpected = append(unexpected, t)
		}
	}
	sort.Strings(unexpected)
	for _, t := range unexpected {
		e := c.tensors[t]
		c.warnf("unexpected tensor %q in %s (%s %v): not part of the layout config.json describes; ignored", t, e.shard.name, e.info.DType, e.info.Shape)
	}
	c.names = make([]string, 0, len(c.tensors))
	for t := range c.tensors {
		c.names = append(c.names, t)
	}
	sort.Strings(c.names)
}

// missingHint explains a missing tensor where the weights hold the other
// variant of a config switch.
func (c *Checkpoint) missingHint(name string) string {
	has := func(t string) bool { _, ok := c.tensors[t]; return ok }
	switch {
	case strings.HasPrefix(name, "fm_modules.fm_head.") && !c.cfg.UsePixelHead && has("fm_modules.fm_head.conv1.weight"):
		return " (config.json says use_pixel_head false, but the weights hold a conv pixel head)"
	case strings.HasPrefix(name, "fm_modules.fm_head.") && c.cfg.UsePixelHead && has(NameFMHead0W):
		return " (config.json says use_pixel_head true, but the weights hold an MLP head)"
	case strings.HasPrefix(name, "fm_modules.noise_scale_embedder."):
		return " (config.json says add_noise_scale_embedding true)"
	case strings.HasSuffix(name, ".bias") && strings.Contains(name, "self_attn."):
		return " (config.json says attention_bias true)"
	}
	return ""
}

func shapeMatches(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// Config returns the checkpoint's parsed config.json.
func (c *Checkpoint) Config() *Config { return c.cfg }

// Dir returns the model folder.
func (c *Checkpoint) Dir() string { return c.dir }

// Warnings returns the non-fatal findings (unexpected tensors, an ignored
// index, a total_size mismatch).
func (c *Checkpoint) Warnings() []string { return append([]string(nil), c.warnings...) }

// Names returns every tensor name, sorted (unexpected tensors included).
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Len returns the number of tensors.
func (c *Checkpoint) Len() int { return len(c.names) }

// FMHeadWidth returns the MLP fm_head inner width read from the weights
// (4096 upstream, 256 in the golden fixtures), or 0 for the pixel head.
func (c *Checkpoint) FMHeadWidth() int { return int(c.fmWidth) }

// Mapped reports whether tensor data is available (Open) or only the
// headers were read (OpenHeaders).
func (c *Checkpoint) Mapped() bool { return c.mapped }

// ShardInfo describes one weight file.
type ShardInfo struct {
	File    string `json:"file"`
	Bytes   int64  `json:"bytes"`
	Tensors int    `json:"tensors"`
	// DTypes counts the file's tensors per dtype.
	DTypes map[string]int `json:"dtypes"`
}

// Shards describes the weight files, by file name.
func (c *Checkpoint) Shards() []ShardInfo {
	out := make([]ShardInfo, 0, len(c.shards))
	for _, s := range c.shards {
		si := ShardInfo{File: s.name, Bytes: s.file.Size, Tensors: s.file.Len(), DTypes: make(map[string]int)}
		for _, t := range s.file.Names() {
			info, _ := s.file.Info(t)
			si.DTypes[info.DType.String()]++
		}
		out = append(out, si)
	}
	return out
}

// Tensor is one tensor of the checkpoint.
type Tensor struct {
	Name  string
	DType safetensors.DType
	Shape []int64
	// Shard is the file holding it, relative to the folder.
	Shard string
	// Data is the raw little-endian bytes. It aliases the read-only mapping:
	// do not write to it or use it after Close.
	Data []byte
}

// NumElements returns the product of the shape.
func (t Tensor) NumElements() int64 { return numElements(t.Shape) }

// ErrClosed is returned for tensor access after Close.
var ErrClosed = errors.New("checkpoint is closed")

func (c *Checkpoint) lookup(name string) (entry, error) {
	if c.closed {
		return entry{}, fmt.Errorf("checkpoint %s: tensor %q: %w", c.dir, name, ErrClosed)
	}
	e, ok := c.tensors[name]
	if !ok {
		return entry{}, fmt.Errorf("checkpoint %s: no tensor %q", c.dir, name)
	}
	return e, nil
}

// Info returns a tensor's header entry and the shard holding it, without
// touching its data (works after OpenHeaders).
func (c *Checkpoint) Info(name string) (safetensors.TensorInfo, string, bool) {
	e, ok := c.tensors[name]
	if !ok {
		return safetensors.TensorInfo{}, "", false
	}
	return e.info, e.shard.name, true
}

// Tensor returns a tensor with its mapped bytes.
func (c *Checkpoint) Tensor(name string) (Tensor, error) {
	e, err := c.lookup(name)
	if err != nil {
		return Tensor{}, err
	}
	data, err := e.shard.file.Bytes(name)
	if err != nil {
		return Tensor{}, fmt.Errorf("checkpoint %s: %w", c.dir, err)
	}
	return Tensor{Name: name, DType: e.info.DType, Shape: append([]int64(nil), e.info.Shape...), Shard: e.shard.name, Data: data}, nil
}

// Float32 decodes a tensor (BF16, F16 or F32) into a new float32 slice and
// returns it with the tensor's shape.
func (c *Checkpoint) Float32(name string) ([]float32, []int64, error) {
	e, err := c.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	vals, shape, err := e.shard.file.Float32(name)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", c.dir, err)
	}
	return vals, shape, nil
}

// Close releases every mapping. Tensor bytes obtained before must not be
// used afterwards. Close is idempotent.
func (c *Checkpoint) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, s := range c.shards {
		if err := s.file.Close(); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint %s: closing %s: %w", c.dir, s.name, err))
		}
	}
	return errors.Join(errs...)
}
