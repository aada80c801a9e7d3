// Package record is what a result carries so it can be re-run: the
// parameters record, as JSON and as PNG text chunks.
//
// A picture made by the engine stores, in a "parameters" text chunk of its
// PNG file, every setting that decides its pixels (task, prompt, seed,
// sampler and guidance settings, size, input pictures, the model and the
// engine version), and a "Software" chunk naming the engine. The desktop
// app's history and the command line read the same record back with
// FromPNG or ParseJSON.
//
// The package owns the record's format only. It does not run tasks, parse
// flags or decide defaults; callers fill in the values they used.
package record

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/internal/version"
)

// Schema names the record format; ParseJSON refuses other values.
const Schema = "sensenova.parameters/1"

// Text chunk keys of a result PNG.
const (
	// KeyParameters holds the record as JSON.
	KeyParameters = "parameters"
	// KeySoftware names the program that made the picture (a standard PNG
	// keyword).
	KeySoftware = "Software"
)

// Parameters is everything needed to make a picture again. Field names in
// JSON follow the upstream command line's flag names where there is one.
type Parameters struct {
	// Schema is always Schema (filled in by JSON when empty).
	Schema string `json:"schema"`
	// Task is "t2i", "edit" or "interleave".
	Task   string `json:"task"`
	Prompt string `json:"prompt"`
	// SystemMessage is the conditional branch's system prompt (interleave).
	SystemMessage string `json:"system_message,omitempty"`
	// Think: reasoning before the picture (t2i, edit) or the think protocol
	// (interleave's think_mode).
	Think bool  `json:"think"`
	Seed  int64 `json:"seed"`
	// InitNoise names the file the unit noise came from (--init_noise),
	// replacing the seeded draw; empty when the seed made the noise.
	InitNoise     string     `json:"init_noise,omitempty"`
	Steps         int        `json:"num_steps"`
	CFGScale      float64    `json:"cfg_scale"`
	ImgCFGScale   float64    `json:"img_cfg_scale"`
	CFGNorm       string     `json:"cfg_norm"`
	CFGInterval   [2]float64 `json:"cfg_interval"`
	TimestepShift float64    `json:"timestep_shift"`
	TEps          float64    `json:"t_eps"`
	Width         int        `json:"width"`
	Height        int        `json:"height"`
	// BatchIndex is the picture's index among those of its call: the batch
	// item (t2i, edit) or the k-th picture of an interleaved answer, from 0.
	BatchIndex int `json:"batch_index"`
	// Inputs are the input picture files, as given.
	Inputs []string `json:"inputs,omitempty"`
	// InputTensors names the file of already-resized input pixels
	// (--input_tensors) that replaced decoding and resizing Inputs.
	InputTensors string `json:"input_tensors,omitempty"`
	// InputMaxPixels is the editing pre-resize budget (0: no pre-resize).
	InputMaxPixels int `json:"input_max_pixels,omitempty"`
	// MaxNewTokens bounds the text of an interleaved answer.
	MaxNewTokens int `json:"max_new_tokens,omitempty"`
	// ImageOnlyBranch and UncondBranch say which guidance branches besides
	// the full condition were built: the input pictures without the
	// instruction (edit, interleave) and the empty prompt (every task).
	ImageOnlyBranch bool `json:"image_only_branch"`
	UncondBranch    bool `json:"uncond_branch"`
	// Model is the model folder's name and ModelConfigSHA256 the SHA-256 of
	// its config.json, hex.
	Model             string `json:"model"`
	ModelConfigSHA256 string `json:"model_config_sha256"`
	// EngineVersion is the engine's version string.
	EngineVersion string `json:"engine_version"`
}

// JSON returns the record as one line of JSON (HTML characters and
// non-ASCII text kept as they are). Schema and EngineVersion are filled in
// when empty. It fails only on values JSON cannot hold (NaN, ±Inf).
func (p Parameters) JSON() ([]byte, error) {
	if p.Schema == "" {
		p.Schema = Schema
	}
	if p.EngineVersion == "" {
		p.EngineVersion = version.Version
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("parameters record: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ParseJSON reads a record written by JSON. Unknown keys are ignored (a
// newer engine may add some); a missing or different schema is an error.
func ParseJSON(data []byte) (Parameters, error) {
	var p Parameters
	if err := json.Unmarshal(data, &p); err != nil {
		return Parameters{}, fmt.Errorf("parameters record: %w", err)
	}
	if p.Schema != Schema {
		return Parameters{}, fmt.Errorf("parameters record: schema %q, want %q", p.Schema, Schema)
	}
	return p, nil
}

// PNGText returns the text chunks a result PNG carries: "parameters" (the
// JSON record) and "Software" ("SenseNova Studio <engine version>").
func (p Parameters) PNGText() ([]imageproc.TextChunk, error) {
	js, err := p.JSON()
	if err != nil {
		return nil, err
	}
	v := p.EngineVersion
	if v == "" {
		v = version.Version
	}
	return []imageproc.TextChunk{
		{Key: KeyParameters, Value: string(js)},
		{Key: KeySoftware, Value: version.Name + " " + v},
	}, nil
}

// ErrNoRecord is returned by FromPNG for a PNG without a parameters chunk.
var ErrNoRecord = errors.New("no parameters text chunk (not made by SenseNova Studio?)")

// FromPNG reads the record of a result PNG file.
func FromPNG(path string) (Parameters, error) {
	f, err := os.Open(path)
	if err != nil {
		return Parameters{}, fmt.Errorf("parameters record: %w", err)
	}
	defer f.Close()
	return fromPNG(path, bufio.NewReader(f))
}

func fromPNG(name string, r io.Reader) (Parameters, error) {
	chunks, err := imageproc.ReadPNGText(r)
	if err != nil {
		return Parameters{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, c := range chunks {
		if c.Key == KeyParameters {
			p, err := ParseJSON([]byte(c.Value))
			if err != nil {
				return Parameters{}, fmt.Errorf("%s: %w", name, err)
			}
			return p, nil
		}
	}
	return Parameters{}, fmt.Errorf("%s: %w", name, ErrNoRecord)
}

// ModelOf returns what a record says about a model folder: its name (the
// folder's base name, after resolving "." and relative paths) and the
// SHA-256 of its config.json, hex.
func ModelOf(dir string) (name, configSHA256 string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("model %s: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return "", "", fmt.Errorf("model %s: %w", dir, err)
	}
	sum := sha256.Sum256(data)
	return filepath.Base(abs), hex.EncodeToString(sum[:]), nil
}
