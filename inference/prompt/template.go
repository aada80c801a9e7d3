package prompt

import (
	_ "embed"
	"strings"
)

// Special token strings of the SenseNova-U1 vocabulary. Their ids come from
// the checkpoint's tokenizer (see SpecialIDs).
const (
	ImStart    = "<|im_start|>"
	ImEnd      = "<|im_end|>"
	Think      = "<think>"
	EndThink   = "</think>"
	ImgStart   = "<img>"
	ImgEnd     = "</img>"
	ImgContext = "<IMG_CONTEXT>"
	// ImagePlaceholder marks where a context picture goes in a user prompt.
	// It never reaches the tokenizer: ExpandImages replaces it.
	ImagePlaceholder = "<image>"
)

// SystemGen is the system message of text-to-image and editing
// (upstream SYSTEM_MESSAGE_FOR_GEN), byte-exact.
//
//go:embed system_gen.txt
var SystemGen string

// SystemInterleave is the default system message of the interleave script
// (upstream DEFAULT_SYSTEM_MESSAGE of examples/interleave), byte-exact.
//
//go:embed system_interleave.txt
var SystemInterleave string

// Role prefixes and separator of the neo1_0 template (MPT separator style).
const (
	systemPrefix    = ImStart + "system\n"
	userPrefix      = ImStart + "user\n"
	assistantPrefix = ImStart + "assistant\n"
	separator       = ImEnd + "\n"
)

// Turn is one message of a conversation. An Open turn renders as its role
// prefix only (the assistant turn the model is about to write); a closed
// turn with empty Text still renders its separator.
type Turn struct {
	Assistant bool
	Text      string
	Open      bool
}

// Render formats a conversation with the neo1_0 template: a system block
// only when system is non-empty, then each turn as role prefix + text +
// "<|im_end|>\n", an open turn as its role prefix alone.
func Render(system string, turns ...Turn) string {
	var b strings.Builder
	if system != "" {
		b.WriteString(systemPrefix)
		b.WriteString(system)
		b.WriteString(separator)
	}
	for _, t := range turns {
		if t.Assistant {
			b.WriteString(assistantPrefix)
		} else {
			b.WriteString(userPrefix)
		}
		if t.Open {
			continue
		}
		b.WriteString(t.Text)
		b.WriteString(separator)
	}
	return b.String()
}

// userAsk renders [system] user: text, then the open assistant turn.
func userAsk(system, text string) string {
	return Render(system, Turn{Text: text}, Turn{Assistant: true, Open: true})
}
