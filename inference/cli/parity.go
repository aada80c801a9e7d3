package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/atomicfile"
)

// parityFlags feed the upstream reference's own tensors in and write ours
// out, so a run can be compared with the Python one number by number.
type parityFlags struct {
	initNoise    string
	outputRaw    string
	inputTensors string
	jsonOut      string
}

// Which parity flags a task has.
const (
	parityNoise  = 1 << iota // --init_noise, --output_raw
	parityInputs             // --input_tensors
)

func addParityFlags(fs *flag.FlagSet, which int, noiseNames string) *parityFlags {
	p := &parityFlags{}
	if which&parityNoise != 0 {
		fs.StringVar(&p.initNoise, "init_noise", "", "safetensors file whose unit-normal "+noiseNames+" replaces the seeded draw (e.g. the reference's own noise)")
		fs.StringVar(&p.outputRaw, "output_raw", "", "also write the final canvases, float32 in model space (≈[-1, 1], before the 8-bit conversion), to this safetensors file: "+rawNames(noiseNames))
	}
	if which&parityInputs != 0 {
		fs.StringVar(&p.inputTensors, "input_tensors", "", "safetensors file with input{k}_pixels_u8 (uint8 [H,W,3]) and input{k}_grid_hw ([1,2] = H/16, W/16) for k = 1…n: the pictures exactly as the reference resized them, used instead of decoding and resizing the --image files")
	}
	fs.StringVar(&p.jsonOut, "json_out", "", "write the run's text results (thinking / answer / storyboard text, their token ids) and timings as JSON to this file")
	return p
}

func rawNames(noiseNames string) string {
	if strings.Contains(noiseNames, "noise_1") {
		return "tensors image_1, image_2, … [3,H,W]"
	}
	return "tensor image, [3,H,W] (or [B,3,H,W] with --batch_size B > 1)"
}

// readNoise reads the unit noise of a call from an --init_noise file:
// tensor name of shape [batch, 3, h, w] (also [3, h, w] for batch 1).
func readNoise(f *safetensors.File, name string, batch, w, h int) ([]float32, error) {
	info, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("--init_noise %s: no tensor %q (it has %s)", f.Path, name, tensorList(f))
	}
	want := []int64{int64(batch), 3, int64(h), int64(w)}
	if !slices.Equal(info.Shape, want) && !(batch == 1 && slices.Equal(info.Shape, want[1:])) {
		return nil, fmt.Errorf("--init_noise %s: tensor %q has shape %v, want %v ([batch, 3, height, width] of this run)", f.Path, name, info.Shape, want)
	}
	v, _, err := f.Float32(name)
	if err != nil {
		return nil, fmt.Errorf("--init_noise %s: %w", f.Path, err)
	}
	return v, nil
}

func openNoise(path string) (*safetensors.File, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--init_noise: %w", err)
	}
	return f, nil
}

func tensorList(f *safetensors.File) string {
	names := f.Names()
	if len(names) == 0 {
		return "no tensors"
	}
	if len(names) > 8 {
		names = append(names[:8:8], "…")
	}
	return strings.Join(names, ", ")
}

// readInputTensors reads n already-resized pictures from an
// --input_tensors file: input{k}_pixels_u8, uint8 [H, W, 3] with H and W
// multiples of 32, and input{k}_grid_hw = (H/16, W/16), k = 1…n.
func readInputTensors(path string, n int) ([]*image.NRGBA, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--input_tensors: %w", err)
	}
	defer f.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("--input_tensors %s: %s", path, fmt.Sprintf(format, args...))
	}
	out := make([]*image.NRGBA, 0, n)
	for k := 1; k <= n; k++ {
		pix, grid := fmt.Sprintf("input%d_pixels_u8", k), fmt.Sprintf("input%d_grid_hw", k)
		info, ok := f.Info(pix)
		if !ok {
			return nil, bad("no tensor %s: want input1…input%d for %d picture(s) (it has %s)", pix, n, n, tensorList(f))
		}
		if info.DType != safetensors.U8 {
			return nil, bad("%s has dtype %s, want U8", pix, info.DType)
		}
		if len(info.Shape) != 3 || info.Shape[2] != 3 || info.Shape[0] < 1 || info.Shape[1] < 1 {
			return nil, bad("%s has shape %v, want [H, W, 3]", pix, info.Shape)
		}
		h, w := int(info.Shape[0]), int(info.Shape[1])
		if h%imageproc.Factor != 0 || w%imageproc.Factor != 0 {
			return nil, bad("%s is %dx%d (width x height): resized pictures are multiples of %d pixels each way", pix, w, h, imageproc.Factor)
		}
		if _, ok := f.Info(grid); !ok {
			return nil, bad("no tensor %s (the 16-pixel grid of %s)", grid, pix)
		}
		g, gshape, err := f.Int64(grid)
		if err != nil {
			return nil, bad("%v", err)
		}
		if len(g) != 2 {
			return nil, bad("%s has shape %v, want [1, 2]", grid, gshape)
		}
		if g[0] != int64(h/imageproc.PatchSize) || g[1] != int64(w/imageproc.PatchSize) {
			return nil, bad("%s is %v but %s is %dx%d (height x width): want [%d %d]", grid, g, pix, h, w, h/imageproc.PatchSize, w/imageproc.PatchSize)
		}
		v, _, err := f.Int64(pix)
		if err != nil {
			return nil, bad("%v", err)
		}
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < h*w; i++ {
			img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = uint8(v[3*i]), uint8(v[3*i+1]), uint8(v[3*i+2]), 255
		}
		out = append(out, img)
	}
	if _, extra := f.Info(fmt.Sprintf("input%d_pixels_u8", n+1)); extra {
		return nil, bad("it has input%d_pixels_u8 but only %d picture(s) were given with --image", n+1, n)
	}
	return out, nil
}

// rawTensor is one canvas (or batch of canvases) of --output_raw.
type rawTensor struct {
	name     string
	canvases [][]float32
	h, w     int
	batched  bool // [B, 3, H, W] instead of [3, H, W]
}

// writeRaw writes canvases to an --output_raw file (atomically).
func writeRaw(path string, ts []rawTensor) error {
	out := make([]safetensors.Tensor, 0, len(ts))
	for _, t := range ts {
		var vals []float32
		for _, c := range t.canvases {
			vals = append(vals, c...)
		}
		shape := []int64{3, int64(t.h), int64(t.w)}
		if t.batched {
			shape = append([]int64{int64(len(t.canvases))}, shape...)
		}
		out = append(out, safetensors.FromFloat32(t.name, shape, vals))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("--output_raw: %w", err)
	}
	if err := safetensors.Write(path, out, map[string]string{"format": "pt", "space": "model (pixel = x*0.5 + 0.5)"}); err != nil {
		return fmt.Errorf("--output_raw: %w", err)
	}
	return nil
}

// jsonReport is what --json_out writes. Fields that do not apply to the
// task are left out.
type jsonReport struct {
	Task          string    `json:"task"`
	ThinkText     *string   `json:"think_text,omitempty"`
	ThinkIDs      *[]int    `json:"think_ids,omitempty"`
	Answer        *string   `json:"answer,omitempty"`
	AnswerIDs     *[]int    `json:"answer_ids,omitempty"`
	GeneratedText *string   `json:"generated_text,omitempty"`
	TextChunksIDs *[][]int  `json:"text_chunks_ids,omitempty"`
	ImageCount    int       `json:"image_count"`
	Width         int       `json:"width,omitempty"`
	Height        int       `json:"height,omitempty"`
	Timings       jsonTimes `json:"timings"`
}

type jsonTimes struct {
	LoadSeconds     float64 `json:"load_seconds"`
	GenerateSeconds float64 `json:"generate_seconds"`
}

func strPtr(s string) *string { return &s }

func idsPtr(ids []int) *[]int {
	if ids == nil {
		ids = []int{}
	}
	return &ids
}

// writeJSONReport writes --json_out (atomically).
func writeJSONReport(path string, r jsonReport) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("--json_out: %w", err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--json_out: %w", err)
	}
	return nil
}
