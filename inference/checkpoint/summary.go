package checkpoint

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// ParamCounts are parameter counts per group (MODEL.md 1.6), from the
// tensors actually present. Other counts tensors outside every group (only
// unexpected ones); Total is the sum of all four.
type ParamCounts struct {
	Understanding int64 `json:"understanding"`
	Generation    int64 `json:"generation"`
	Shared        int64 `json:"shared"`
	Other         int64 `json:"other"`
	Total         int64 `json:"total"`
}

// ParamCounts counts the parameters of every tensor in the checkpoint by
// group. For the 8B-MoT: 8,121,323,008 understanding, 8,186,358,272
// generation, 1,244,659,712 shared, 17,552,340,992 in total.
func (c *Checkpoint) ParamCounts() ParamCounts {
	var pc ParamCounts
	for _, name := range c.names {
		n := c.tensors[name].info.NumElements()
		switch GroupOf(name) {
		case Understanding:
			pc.Understanding += n
		case Generation:
			pc.Generation += n
		case Shared:
			pc.Shared += n
		default:
			pc.Other += n
		}
		pc.Total += n
	}
	return pc
}

// DTypeCount is how many tensors, and parameters, a checkpoint stores in
// one dtype.
type DTypeCount struct {
	Tensors int   `json:"tensors"`
	Params  int64 `json:"params"`
	Bytes   int64 `json:"bytes"`
}

// ShardSummary is one weight file in a Summary.
type ShardSummary struct {
	File    string `json:"file"`
	Bytes   int64  `json:"bytes"`
	Tensors int    `json:"tensors"`
}

// Summary is what `sensenova inspect` shows: the config in brief, the
// weight files and the parameter counts. It marshals to JSON with stable
// snake_case keys; counts are exact integers.
type Summary struct {
	Dir       string `json:"dir"`
	ModelType string `json:"model_type"`
	Template  string `json:"template"`

	Layers            int `json:"layers"`
	HiddenSize        int `json:"hidden_size"`
	NumAttentionHeads int `json:"num_attention_heads"`
	NumKeyValueHeads  int `json:"num_key_value_heads"`
	HeadDim           int `json:"head_dim"`
	IntermediateSize  int `json:"intermediate_size"`
	VocabSize         int `json:"vocab_size"`

	VisionHiddenSize int `json:"vision_hidden_size"`
	PatchSize        int `json:"patch_size"`
	Merge            int `json:"merge"`
	TokenPixels      int `json:"token_pixels"`

	// HeadType is "mlp" or "pixel"; FMHeadWidth is the MLP head's inner
	// width read from the weights (0 for the pixel head).
	HeadType               string  `json:"head_type"`
	FMHeadWidth            int     `json:"fm_head_width"`
	AddNoiseScaleEmbedding bool    `json:"add_noise_scale_embedding"`
	NoiseScale             float64 `json:"noise_scale"`
	NoiseScaleMode         string  `json:"noise_scale_mode"`
	NoiseScaleMaxValue     float64 `json:"noise_scale_max_value"`

	RopeTheta         float64 `json:"rope_theta"`
	RopeThetaHW       float64 `json:"rope_theta_hw"`
	RopeThetaVision   float64 `json:"rope_theta_vision"`
	AttentionBias     bool    `json:"attention_bias"`
	TieWordEmbeddings bool    `json:"tie_word_embeddings"`

	UnderstandingParams int64 `json:"understanding_params"`
	GenerationParams    int64 `json:"generation_params"`
	SharedParams        int64 `json:"shared_params"`
	OtherParams         int64 `json:"other_params"`
	TotalParams         int64 `json:"total_params"`

	Tensors int   `json:"tensors"`
	Bytes   int64 `json:"bytes"` // tensor data bytes, headers excluded
	// DTypes maps a dtype name ("BF16") to the tensors, parameters and data
	// bytes stored in it.
	DTypes map[string]DTypeCount `json:"dtypes"`
	Shards []ShardSummary        `json:"shards"`

	Warnings []string `json:"warnings"`
}

// Summary builds the inspection summary.
func (c *Checkpoint) Summary() Summary {
	cfg := c.cfg
	pc := c.ParamCounts()
	s := Summary{
		Dir:       c.dir,
		ModelType: cfg.ModelType,
		Template:  cfg.Template,

		Layers:            cfg.LLM.NumHiddenLayers,
		HiddenSize:        cfg.LLM.HiddenSize,
		NumAttentionHeads: cfg.LLM.NumAttentionHeads,
		NumKeyValueHeads:  cfg.LLM.NumKeyValueHeads,
		HeadDim:           cfg.LLM.HeadDim,
		IntermediateSize:  cfg.LLM.IntermediateSize,
		VocabSize:         cfg.LLM.VocabSize,

		VisionHiddenSize: cfg.Vision.HiddenSize,
		PatchSize:        cfg.Vision.PatchSize,
		Merge:            cfg.Merge(),
		TokenPixels:      cfg.TokenPixels(),

		HeadType:               cfg.HeadType(),
		FMHeadWidth:            c.FMHeadWidth(),
		AddNoiseScaleEmbedding: cfg.AddNoiseScaleEmbedding,
		NoiseScale:             cfg.NoiseScale,
		NoiseScaleMode:         cfg.NoiseScaleMode,
		NoiseScaleMaxValue:     cfg.NoiseScaleMaxValue,

		RopeTheta:         cfg.LLM.RopeTheta,
		RopeThetaHW:       cfg.LLM.RopeThetaHW,
		RopeThetaVision:   cfg.Vision.RopeThetaVision,
		AttentionBias:     cfg.LLM.AttentionBias,
		TieWordEmbeddings: cfg.TieWordEmbeddings,

		UnderstandingParams: pc.Understanding,
		GenerationParams:    pc.Generation,
		SharedParams:        pc.Shared,
		OtherParams:         pc.Other,
		TotalParams:         pc.Total,

		Tensors:  len(c.names),
		DTypes:   make(map[string]DTypeCount),
		Shards:   []ShardSummary{},
		Warnings: c.Warnings(),
	}
	if s.Warnings == nil {
		s.Warnings = []string{}
	}
	for _, name := range c.names {
		info := c.tensors[name].info
		dc := s.DTypes[info.DType.String()]
		dc.Tensors++
		dc.Params += info.NumElements()
		dc.Bytes += info.End - info.Start
		s.DTypes[info.DType.String()] = dc
		s.Bytes += info.End - info.Start
	}
	for _, sh := range c.Shards() {
		s.Shards = append(s.Shards, ShardSummary{File: sh.File, Bytes: sh.Bytes, Tensors: sh.Tensors})
	}
	return s
}

// FormatParams writes a parameter count with three decimals in the largest
// fitting unit, as upstream's parameter_breakdown.md does: 8121323008 →
// "8.121B", 622329856 → "622.330M", 9880768 → "9.881M", 4096 → "4.096K".
func FormatParams(n int64) string {
	f := float64(n)
	switch {
	case n >= 1e9 || n <= -1e9:
		return fmt.Sprintf("%.3fB", f/1e9)
	case n >= 1e6 || n <= -1e6:
		return fmt.Sprintf("%.3fM", f/1e6)
	case n >= 1e3 || n <= -1e3:
		return fmt.Sprintf("%.3fK", f/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// groupDigits writes n with thousands separators: 8,121,323,008.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatBytes writes a byte count in GB/MB/kB (decimal units, as download
// sizes are shown).
func formatBytes(n int64) string {
	f := float64(n)
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", f/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f MB", f/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", f/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// plainFloat writes f without an exponent: 5000000, 0.5.
func plainFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// WriteText prints the summary for people: config, weight files, parameter
// counts per group (rounded and exact) and warnings.
func (s Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("SenseNova-U1 checkpoint\t%s\n", s.Dir)
	p("  model type\t%s (template %s)\n", s.ModelType, s.Template)
	p("  layers\t%d\n", s.Layers)
	p("  hidden\t%d (%d query heads, %d key/value heads, head_dim %d)\n", s.HiddenSize, s.NumAttentionHeads, s.NumKeyValueHeads, s.HeadDim)
	p("  intermediate\t%d\n", s.IntermediateSize)
	p("  vocabulary\t%d\n", s.VocabSize)
	p("  patch embedder\twidth %d, patch %d px, merge %d (%d px per image token)\n", s.VisionHiddenSize, s.PatchSize, s.Merge, s.TokenPixels)
	if s.HeadType == "mlp" {
		p("  fm_head\tmlp, inner width %d\n", s.FMHeadWidth)
	} else {
		p("  fm_head\t%s\n", s.HeadType)
	}
	emb := "without"
	if s.AddNoiseScaleEmbedding {
		emb = "with"
	}
	p("  noise scale\t%g, mode %s, max %g, %s noise-scale embedder\n", s.NoiseScale, s.NoiseScaleMode, s.NoiseScaleMaxValue, emb)
	p("  rope theta\t%s (t), %s (h, w), %s (patch features)\n", plainFloat(s.RopeTheta), plainFloat(s.RopeThetaHW), plainFloat(s.RopeThetaVision))
	if s.AttentionBias || s.TieWordEmbeddings {
		p("  options\tattention_bias %t, tie_word_embeddings %t\n", s.AttentionBias, s.TieWordEmbeddings)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	p("\nweights\t%d tensors\t%s\n", s.Tensors, formatBytes(s.Bytes))
	for _, sh := range s.Shards {
		p("  %s\t%d tensors\t%s\n", sh.File, sh.Tensors, formatBytes(sh.Bytes))
	}
	dts := make([]string, 0, len(s.DTypes))
	for dt := range s.DTypes {
		dts = append(dts, dt)
	}
	sort.Strings(dts)
	for _, dt := range dts {
		d := s.DTypes[dt]
		p("  %s\t%d tensors\t%s params\n", dt, d.Tensors, FormatParams(d.Params))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	type row struct {
		name string
		n    int64
	}
	rows := []row{{"understanding", s.UnderstandingParams}, {"generation", s.GenerationParams}, {"shared", s.SharedParams}}
	if s.OtherParams != 0 {
		rows = append(rows, row{"other", s.OtherParams})
	}
	rows = append(rows, row{"total", s.TotalParams})
	if _, err := fmt.Fprintf(w, "\nparameters\n"); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "  %-14s %9s  %15s\n", r.name, FormatParams(r.n), groupDigits(r.n)); err != nil {
			return err
		}
	}

	if len(s.Warnings) > 0 {
		if _, err := fmt.Fprintf(w, "\nwarnings\n"); err != nil {
			return err
		}
		for _, warn := range s.Warnings {
			if _, err := fmt.Fprintf(w, "  - %s\n", warn); err != nil {
				return err
			}
		}
	}
	return nil
}
