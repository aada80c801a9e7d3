//go:build cuda

package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tensor"
)

// TestTraceOps records every op of a golden text-to-image case on the CUDA
// backend — its inputs, its output and its parameters — into a safetensors
// file, for scripts/torch_replay.py to recompute each op with torch's bf16
// ops and count the outputs that differ (docs/torch-parity.md). It runs
// only when SENSENOVA_TRACE names the file to write:
//
//	SENSENOVA_TRACE=/tmp/trace.safetensors SENSENOVA_TRACE_CASE=mlphead/t2i_think \
//	SENSENOVA_TRACE_LIMIT=4000 ./pipeline.test -test.run TestTraceOps
//
// The case draws one denoising step; the limit (default 4000 ops) bounds
// the file.
func TestTraceOps(t *testing.T) {
	out := os.Getenv("SENSENOVA_TRACE")
	if out == "" {
		t.Skip("SENSENOVA_TRACE is not set: nothing to record")
	}
	folder, name, ok := strings.Cut(os.Getenv("SENSENOVA_TRACE_CASE"), "/")
	if !ok {
		t.Fatalf("SENSENOVA_TRACE_CASE=%q: want folder/case, e.g. mlphead/t2i_think", os.Getenv("SENSENOVA_TRACE_CASE"))
	}
	limit := 4000
	if v := os.Getenv("SENSENOVA_TRACE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("SENSENOVA_TRACE_LIMIT=%q: want a positive number of ops", v)
		}
		limit = n
	}
	g := openCUDAGolden(t, folder)
	acc, err := gpu.Open(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acc.Close)
	tr := &opTracer{Backend: acc, limit: limit}
	e, err := Open(g.dir, tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	var found bool
	for _, c := range g.cases.Cases {
		if c.Name != name || (c.Kind != "t2i" && c.Kind != "t2i_think") {
			continue
		}
		found = true
		req := TextToImageRequest{Prompt: c.Prompt, Think: c.Kind == "t2i_think", ImageSettings: settingsOf(c, g.ref(t, folder+"."+c.Name+".noise"))}
		req.Steps = 1
		tr.on = true
		res, err := e.TextToImage(context.Background(), req, nil)
		tr.on = false
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s/%s: %d reasoning tokens, %d ops recorded", folder, name, len(res.ThinkIDs), len(tr.ops))
	}
	if !found {
		t.Fatalf("no text-to-image case %q in %s", name, folder)
	}
	meta, err := json.Marshal(tr.ops)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(out, tr.tensors, map[string]string{"ops": string(meta)}); err != nil {
		t.Fatal(err)
	}
}

// tracedOp describes one recorded op: tensors "NNNNN.in<i>" (a missing
// index is a nil input) and "NNNNN.out" hold its data, in bf16.
type tracedOp struct {
	Op     string  `json:"op"`
	Ints   []int   `json:"ints,omitempty"`
	Float  float64 `json:"float,omitempty"`
	Inputs int     `json:"inputs"`
}

// opTracer wraps a backend and records the ops the torch replay knows.
type opTracer struct {
	tensor.Backend
	on      bool
	limit   int
	ops     []tracedOp
	tensors []safetensors.Tensor
}

func (tr *opTracer) record(op string, ints []int, f float64, out tensor.Tensor, ins ...tensor.Tensor) {
	if !tr.on || len(tr.ops) >= tr.limit {
		return
	}
	k := len(tr.ops)
	add := func(name string, x tensor.Tensor) {
		shape := make([]int64, len(x.Shape()))
		for i, d := range x.Shape() {
			shape[i] = int64(d)
		}
		tr.tensors = append(tr.tensors, safetensors.FromBF16(fmt.Sprintf("%05d.%s", k, name), shape, tr.Backend.Float32(x)))
	}
	n := 0
	for i, x := range ins {
		if x != nil {
			add(fmt.Sprintf("in%d", i), x)
			n = i + 1
		}
	}
	add("out", out)
	tr.ops = append(tr.ops, tracedOp{Op: op, Ints: ints, Float: f, Inputs: n})
}

func (tr *opTracer) RMSNorm(x, w tensor.Tensor, eps float32) tensor.Tensor {
	o := tr.Backend.RMSNorm(x, w, eps)
	tr.record("rmsnorm", nil, float64(eps), o, x, w)
	return o
}

func (tr *opTracer) QKNorm(x tensor.Tensor, headDim int, wT, wHW tensor.Tensor, eps float32) tensor.Tensor {
	o := tr.Backend.QKNorm(x, headDim, wT, wHW, eps)
	tr.record("qknorm", []int{headDim}, float64(eps), o, x, wT, wHW)
	return o
}

func (tr *opTracer) RoPE(x tensor.Tensor, pos tensor.Positions, p tensor.RoPEParams) tensor.Tensor {
	o := tr.Backend.RoPE(x, pos, p)
	ints := []int{p.HeadDim, int(p.ThetaT), int(p.ThetaHW), pos.Len()}
	for i := range pos.T {
		ints = append(ints, int(pos.T[i]), int(pos.H[i]), int(pos.W[i]))
	}
	tr.record("rope", ints, 0, o, x)
	return o
}

func (tr *opTracer) Attention(q, k, v tensor.Tensor, nKeys, heads, kvHeads int, scale float32, keyLimit []int32) tensor.Tensor {
	o := tr.Backend.Attention(q, k, v, nKeys, heads, kvHeads, scale, keyLimit)
	ints := []int{nKeys, heads, kvHeads}
	for _, l := range keyLimit {
		ints = append(ints, int(l))
	}
	tr.record("attention", ints, float64(scale), o, q, tr.Backend.Rows(k, 0, nKeys), tr.Backend.Rows(v, 0, nKeys))
	return o
}

func (tr *opTracer) Linear(x, w, bias tensor.Tensor) tensor.Tensor {
	o := tr.Backend.Linear(x, w, bias)
	tr.record("linear", nil, 0, o, x, w, bias)
	return o
}

func (tr *opTracer) SwiGLU(gate, up tensor.Tensor) tensor.Tensor {
	o := tr.Backend.SwiGLU(gate, up)
	tr.record("swiglu", nil, 0, o, gate, up)
	return o
}

func (tr *opTracer) GELU(x tensor.Tensor) tensor.Tensor {
	o := tr.Backend.GELU(x)
	tr.record("gelu", nil, 0, o, x)
	return o
}

func (tr *opTracer) Add(a, b tensor.Tensor) tensor.Tensor {
	o := tr.Backend.Add(a, b)
	tr.record("add", nil, 0, o, a, b)
	return o
}

func (tr *opTracer) AddRow(x, row tensor.Tensor) tensor.Tensor {
	o := tr.Backend.AddRow(x, row)
	tr.record("addrow", nil, 0, o, x, row)
	return o
}

func (tr *opTracer) PatchRoPE(x tensor.Tensor, cols, rows []int32, theta float64) tensor.Tensor {
	o := tr.Backend.PatchRoPE(x, cols, rows, theta)
	ints := []int{len(cols)}
	for i := range cols {
		ints = append(ints, int(cols[i]), int(rows[i]))
	}
	tr.record("patchrope", ints, theta, o, x)
	return o
}

func (tr *opTracer) Combine(terms ...tensor.Term) tensor.Tensor {
	o := tr.Backend.Combine(terms...)
	ins := make([]tensor.Tensor, len(terms))
	ints := make([]int, len(terms))
	for i, term := range terms {
		ins[i], ints[i] = term.X, int(math.Float32bits(term.Coef))
	}
	tr.record("combine", ints, 0, o, ins...)
	return o
}
