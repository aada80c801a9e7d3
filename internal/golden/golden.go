// Package golden locates and reads the upstream reference outputs in
// ../shared/golden (beside the repository root) for tests: the case lists
// (cases.json) and the tensors (references*.safetensors). Tests read the
// fixtures in place; nothing is copied into the repository.
//
// The folder is found by walking up from the working directory to the
// directory holding go.mod and taking ../shared/golden from there;
// SENSENOVA_GOLDEN overrides it.
package golden

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Dir returns the golden folder, or an error saying where it was looked for.
func Dir() (string, error) {
	if d := os.Getenv("SENSENOVA_GOLDEN"); d != "" {
		return checkDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return checkDir(filepath.Join(d, "..", "shared", "golden"))
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("golden: no go.mod above %s, cannot locate ../shared/golden", wd)
		}
	}
}

func checkDir(d string) (string, error) {
	if _, err := os.Stat(filepath.Join(d, "README.md")); err != nil {
		return "", fmt.Errorf("golden: reference folder %s not found (set SENSENOVA_GOLDEN to its path): %w", d, err)
	}
	return filepath.Clean(d), nil
}

// Path joins elements under the golden folder.
func Path(elem ...string) (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{d}, elem...)...), nil
}

// Case is one entry of a cases.json file. Fields absent for a kind stay zero.
type Case struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"` // t2i, t2i_think, edit, vqa, interleave
	Prompt        string   `json:"prompt"`
	Question      string   `json:"question"`
	SystemMessage string   `json:"system_message"`
	ThinkMode     bool     `json:"think_mode"`
	Width         int      `json:"width"`
	Height        int      `json:"height"`
	InW           int      `json:"in_w"`
	InH           int      `json:"in_h"`
	NumSteps      int      `json:"num_steps"`
	CFGScale      float64  `json:"cfg_scale"`
	ImgCFGScale   float64  `json:"img_cfg_scale"`
	TimestepShift float64  `json:"timestep_shift"`
	CFGNorm       string   `json:"cfg_norm"`
	Seed          int64    `json:"seed"`
	TEps          float64  `json:"t_eps"`
	MaxNewTokens  int      `json:"max_new_tokens"`
	QueryCond     *string  `json:"query_cond"`
	QueryUncond   *string  `json:"query_uncond"`
	ThinkText     string   `json:"think_text"`
	ThinkIDs      []int    `json:"think_ids"`
	Answer        string   `json:"answer"`
	AnswerIDs     []int    `json:"answer_ids"`
	InputPNGs     []string `json:"input_pngs"`
	InputPNG      string   `json:"input_png"`
	// Interleave.
	GeneratedText     string  `json:"generated_text"`
	TextChunksIDs     [][]int `json:"text_chunks_ids"`
	ImageCount        int     `json:"image_count"`
	TokensBeforeImage int     `json:"tokens_before_image"`
	TokensAfterImage  int     `json:"tokens_after_image"`
}

// Cases is a parsed cases.json.
type Cases struct {
	Precision string `json:"precision"`
	Cases     []Case `json:"cases"`
}

// LoadCases reads <golden>/<folder>/<file> (file defaults to cases.json).
func LoadCases(folder string, file ...string) (*Cases, error) {
	name := "cases.json"
	if len(file) > 0 {
		name = file[0]
	}
	p, err := Path(folder, name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	var c Cases
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("golden %s: %w", p, err)
	}
	if len(c.Cases) == 0 {
		return nil, fmt.Errorf("golden %s: no cases", p)
	}
	return &c, nil
}
