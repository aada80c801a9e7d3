package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sensenova/studio/inference/pipeline"
)

// progress shows a running task on stderr: the denoising step of each
// picture with its rate and the time left, and text tokens (streamed as
// they come, or counted). On a terminal each line is redrawn in place;
// otherwise every step gets its own line. It never writes to stdout, which
// keeps what the upstream scripts print there.
type progress struct {
	w   io.Writer
	tty bool
	// label prefixes every line (e.g. "sample 3/10").
	label string
	// stream prints token text as it comes (thinking with --print_think,
	// storyboard text); otherwise tokens are only counted, on a terminal.
	stream bool
	// tokenWord names what tokens are ("thinking", "answer").
	tokenWord string

	tokens    int
	open      bool // a line is in progress (no newline yet)
	picture   int
	firstStep time.Time
}

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty, picture: -1, tokenWord: "thinking"}
}

// handle is the pipeline.Progress callback.
func (p *progress) handle(ev pipeline.Event) {
	switch ev.Kind {
	case pipeline.EventToken:
		if ev.TokenID >= 0 {
			p.tokens++
		}
		switch {
		case p.stream:
			fmt.Fprint(p.w, ev.Text)
			p.open = true
		case p.tty:
			fmt.Fprintf(p.w, "\r%s%s: %d tokens", p.prefix(), p.tokenWord, p.tokens)
			p.open = true
		}
	case pipeline.EventStep:
		if p.tokens > 0 {
			p.endTokens()
		}
		now := time.Now()
		if ev.Picture != p.picture || ev.Step == 1 {
			p.picture, p.firstStep = ev.Picture, now
		}
		line := fmt.Sprintf("%spicture %d: step %d/%d", p.prefix(), ev.Picture+1, ev.Step, ev.Steps)
		if ev.Step > 1 {
			per := now.Sub(p.firstStep).Seconds() / float64(ev.Step-1)
			line += fmt.Sprintf("  %.2f s/step  ETA %s", per, formatSeconds(per*float64(ev.Steps-ev.Step)))
		}
		if p.tty {
			fmt.Fprintf(p.w, "\r%s\x1b[K", line)
			p.open = ev.Step < ev.Steps
			if !p.open {
				fmt.Fprintln(p.w)
			}
		} else {
			fmt.Fprintln(p.w, line)
		}
	}
}

// endTokens closes a line of streamed or counted tokens.
func (p *progress) endTokens() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	if !p.stream && !p.tty {
		fmt.Fprintf(p.w, "%s%s: %d tokens\n", p.prefix(), p.tokenWord, p.tokens)
	}
	p.tokens = 0
}

// done ends the task's progress output.
func (p *progress) done() {
	if p.tokens > 0 {
		p.endTokens()
	}
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

func (p *progress) prefix() string {
	if p.label == "" {
		return ""
	}
	return "[" + p.label + "] "
}

func formatSeconds(s float64) string {
	if s < 90 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
}
