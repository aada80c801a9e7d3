package pipeline

import (
	"fmt"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/model"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/inference/tokenizer"
)

// Engine is a loaded checkpoint ready to run tasks: the network on a
// backend, the checkpoint's tokenizer and its special-token ids.
type Engine struct {
	Checkpoint *checkpoint.Checkpoint
	Model      *model.Model
	Tokenizer  *tokenizer.Tokenizer
	IDs        prompt.SpecialIDs

	// observeVelocity, when set (tests), receives every branch velocity
	// of every step on the host.
	observeVelocity func(picture, step int, branch string, v []float32)
	// observeScores, when set (tests), receives the next-token scores each
	// reasoning or answer token is chosen from.
	observeScores func(scores []float32)
	// forceThink, when set (tests), replaces the reasoning tokens the
	// model would choose by these, in order, to test the rest of the
	// task on a given reasoning.
	forceThink []int
}

// chose reports the scores a token was chosen from to the test hook.
func (e *Engine) chose(scores []float32) {
	if e.observeScores != nil {
		e.observeScores(scores)
	}
}

// Open loads the checkpoint folder dir (validated in full first), its
// tokenizer and the network on backend b.
func Open(dir string, b tensor.Backend) (*Engine, error) {
	return OpenWithProgress(dir, b, nil)
}

// OpenWithProgress is Open reporting the weights as they reach the
// backend: progress (when non-nil) gets the bytes loaded so far and the
// total after every tensor.
func OpenWithProgress(dir string, b tensor.Backend, progress func(done, total int64)) (*Engine, error) {
	return OpenWith(dir, b, OpenOptions{Progress: progress})
}

// OpenOptions configure OpenWith.
type OpenOptions struct {
	// Progress, when set, gets the bytes loaded so far and the total after
	// every tensor.
	Progress func(done, total int64)
	// DeviceBytes, when positive on a backend that can stream weights,
	// bounds the weights kept in device memory (model.BuildOptions).
	DeviceBytes int64
}

// OpenWith is Open with options.
func OpenWith(dir string, b tensor.Backend, opts OpenOptions) (*Engine, error) {
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(ck, dir, b, opts)
	if err != nil {
		ck.Close()
		return nil, err
	}
	return e, nil
}

func newEngine(ck *checkpoint.Checkpoint, dir string, b tensor.Backend, opts OpenOptions) (*Engine, error) {
	progress := opts.Progress
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	ids, err := prompt.LookupSpecialIDs(tok.TokenID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if vocab := ck.Config().LLM.VocabSize; tok.Len() > vocab {
		return nil, fmt.Errorf("%s: the tokenizer has %d ids but the model's vocabulary is %d", dir, tok.Len(), vocab)
	}
	var onTensor func(string)
	if progress != nil {
		var done, total int64
		for _, name := range ck.Names() {
			info, _, _ := ck.Info(name)
			total += info.End - info.Start
		}
		onTensor = func(name string) {
			info, _, _ := ck.Info(name)
			done += info.End - info.Start
			progress(done, total)
		}
	}
	m, err := model.BuildWith(ck.Config(), model.CheckpointSource{Checkpoint: ck}, b, model.BuildOptions{Progress: onTensor, DeviceBytes: opts.DeviceBytes})
	if err != nil {
		return nil, err
	}
	return &Engine{Checkpoint: ck, Model: m, Tokenizer: tok, IDs: ids}, nil
}

// NewEngine assembles an engine from a network built some other way (the
// benchmark's random weights) and a tokenizer with the model's special
// tokens. It has no checkpoint.
func NewEngine(m *model.Model, tok *tokenizer.Tokenizer) (*Engine, error) {
	ids, err := prompt.LookupSpecialIDs(tok.TokenID)
	if err != nil {
		return nil, err
	}
	return &Engine{Model: m, Tokenizer: tok, IDs: ids}, nil
}

// Close releases the checkpoint's mappings; the engine is unusable after.
func (e *Engine) Close() error {
	if e.Checkpoint == nil {
		return nil
	}
	return e.Checkpoint.Close()
}

// DeviceFailure is implemented by the panic values of a backend whose
// device failed inside an op (out of memory, a kernel fault): the tensor
// ops cannot return errors, so a GPU backend panics with one and the task
// reports it as its error.
type DeviceFailure interface {
	error
	DeviceFailure()
}

// recoverDeviceFailure turns a DeviceFailure panic into *err; any other
// panic is a bug and goes on.
func recoverDeviceFailure(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(DeviceFailure)
		if !ok {
			panic(r)
		}
		*err = f
	}
}
