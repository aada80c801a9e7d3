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
}

// Open loads the checkpoint folder dir (validated in full first), its
// tokenizer and the network on backend b.
func Open(dir string, b tensor.Backend) (*Engine, error) {
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(ck, dir, b)
	if err != nil {
		ck.Close()
		return nil, err
	}
	return e, nil
}

func newEngine(ck *checkpoint.Checkpoint, dir string, b tensor.Backend) (*Engine, error) {
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
	m, err := model.Load(ck, b)
	if err != nil {
		return nil, err
	}
	return &Engine{Checkpoint: ck, Model: m, Tokenizer: tok, IDs: ids}, nil
}

// Close releases the checkpoint's mappings; the engine is unusable after.
func (e *Engine) Close() error { return e.Checkpoint.Close() }
