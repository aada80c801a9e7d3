package checkpoint

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/atomicfile"
)

// UpstreamFMHeadWidth is the MLP fm_head inner width of the released
// checkpoints (hard-coded 4096 upstream, independent of the hidden size).
const UpstreamFMHeadWidth = 4096

// maxFilledElements bounds one tensor filled in memory (the real
// embedding table has 622 M elements).
const maxFilledElements = 1 << 30

// LayoutOptions controls WriteLayout.
type LayoutOptions struct {
	// Shards is the number of weight files. 0 or 1 writes a single
	// model.safetensors; n >= 2 writes model-0000k-of-0000n.safetensors and
	// model.safetensors.index.json, as transformers does.
	Shards int
	// DType of every tensor: BF16, F32 (or F16 with Sparse). The zero value
	// selects BF16, the released checkpoints' dtype.
	DType safetensors.DType
	// FMHeadWidth is the MLP fm_head inner width; 0 means
	// UpstreamFMHeadWidth. Ignored for the pixel head.
	FMHeadWidth int
	// Seed seeds the default fill. Each tensor gets its own stream derived
	// from Seed and its name, so values do not depend on shard order.
	Seed uint64
	// Fill, if set, replaces the default fill. It receives the spec (with
	// the fm_head width resolved) and a zeroed slice of its element count.
	Fill func(spec TensorSpec, values []float32)
	// Sparse writes headers only: data sections are extended with Truncate
	// and read as zeros, so the real 8B-MoT layout costs almost no disk.
	Sparse bool
}

// WriteLayout writes a checkpoint folder with the layout configJSON implies:
// config.json (the given bytes, verbatim), the weights as one file or as
// shards with an index. The folder is created if needed and must not hold a
// checkpoint already. Without Sparse, every tensor is filled with seeded
// values following MODEL.md 9 (matrices N(0, 0.02²), RMSNorm weights
// 1 + N(0, 0.1²), biases N(0, 0.02²)) or by Fill; one shard's data is held
// in memory at a time.
func WriteLayout(dir string, configJSON []byte, opts LayoutOptions) error {
	cfg, err := ParseConfig(configJSON, filepath.Join(dir, ConfigFile))
	if err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	if opts.DType == safetensors.DType(0) {
		opts.DType = safetensors.BF16
	}
	switch {
	case opts.DType == safetensors.BF16 || opts.DType == safetensors.F32:
	case opts.DType == safetensors.F16 && opts.Sparse:
	default:
		return fmt.Errorf("write layout %s: dtype %s not supported (want BF16 or F32; F16 only with Sparse)", dir, opts.DType)
	}
	if opts.Sparse && opts.Fill != nil {
		return fmt.Errorf("write layout %s: Fill cannot be used with Sparse (sparse data reads as zeros)", dir)
	}
	if opts.Shards < 0 || opts.FMHeadWidth < 0 {
		return fmt.Errorf("write layout %s: Shards %d and FMHeadWidth %d must not be negative", dir, opts.Shards, opts.FMHeadWidth)
	}
	width := int64(opts.FMHeadWidth)
	if width == 0 {
		width = UpstreamFMHeadWidth
	}

	var specs []TensorSpec
	for _, s := range ExpectedTensors(cfg) {
		if s.Optional {
			continue // a tied lm_head is not saved
		}
		s.Shape = resolveShape(s.Shape, width)
		specs = append(specs, s)
	}
	n := max(opts.Shards, 1)
	if n > len(specs) {
		return fmt.Errorf("write layout %s: %d shards for %d tensors", dir, n, len(specs))
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	for _, f := range []string{ConfigFile, SingleFile, IndexFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("write layout %s: the folder already holds %s; refusing to overwrite a checkpoint", dir, f)
		}
	}

	size := opts.DType.Size()
	bytesOf := func(s TensorSpec) int64 { return numElements(s.Shape) * int64(size) }
	var total int64
	for _, s := range specs {
		total += bytesOf(s)
	}
	// Cut the module-ordered list into n runs of about equal bytes, each
	// with at least one tensor.
	shardOf := make([]int, len(specs))
	counts := make([]int, n)
	var acc int64
	k := 0
	for i, s := range specs {
		if k < n-1 && counts[k] > 0 && (acc >= total/int64(n)*int64(k+1) || len(specs)-i <= n-1-k) {
			k++
		}
		shardOf[i] = k
		counts[k]++
		acc += bytesOf(s)
	}

	fileName := func(k int) string {
		if n == 1 {
			return SingleFile
		}
		return fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, n)
	}
	weightMap := make(map[string]string, len(specs))
	meta := map[string]string{"format": "pt"}
	for k := 0; k < n; k++ {
		path := filepath.Join(dir, fileName(k))
		var err error
		if opts.Sparse {
			var infos []safetensors.TensorInfo
			for i, s := range specs {
				if shardOf[i] == k {
					infos = append(infos, safetensors.TensorInfo{Name: s.Name, DType: opts.DType, Shape: s.Shape})
					weightMap[s.Name] = fileName(k)
				}
			}
			err = safetensors.WriteSparse(path, infos, meta)
		} else {
			var tensors []safetensors.Tensor
			for i, s := range specs {
				if shardOf[i] != k {
					continue
				}
				if numElements(s.Shape) > maxFilledElements {
					return fmt.Errorf("write layout %s: tensor %q %v is too large to fill in memory (limit %d elements); use Sparse", dir, s.Name, s.Shape, int64(maxFilledElements))
				}
				vals := make([]float32, numElements(s.Shape))
				if opts.Fill != nil {
					opts.Fill(s, vals)
				} else {
					defaultFill(opts.Seed, s, vals)
				}
				if opts.DType == safetensors.F32 {
					tensors = append(tensors, safetensors.FromFloat32(s.Name, s.Shape, vals))
				} else {
					tensors = append(tensors, safetensors.FromBF16(s.Name, s.Shape, vals))
				}
				weightMap[s.Name] = fileName(k)
			}
			err = safetensors.Write(path, tensors, meta)
		}
		if err != nil {
			return fmt.Errorf("write layout %s: %w", dir, err)
		}
	}
	if n > 1 {
		idx := struct {
			Metadata  map[string]int64  `json:"metadata"`
			WeightMap map[string]string `json:"weight_map"`
		}{map[string]int64{"total_size": total}, weightMap}
		data, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			return fmt.Errorf("write layout %s: %w", dir, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, IndexFile), append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write layout %s: %w", dir, err)
		}
	}
	// config.json last: a folder left half-written by a failure is not
	// mistaken for a model.
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), configJSON, 0o644); err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	return nil
}

// defaultFill draws the MODEL.md 9 random init from a stream seeded by seed
// and the tensor name.
func defaultFill(seed uint64, s TensorSpec, vals []float32) {
	h := fnv.New64a()
	h.Write([]byte(s.Name))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	mean, std := 0.0, 0.02
	if len(s.Shape) == 1 && strings.HasSuffix(s.Name, ".weight") && strings.Contains(s.Name, "norm") {
		mean, std = 1, 0.1
	}
	for i := range vals {
		vals[i] = float32(mean + std*r.NormFloat64())
	}
}
