package pipeline

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventStep: a denoising step finished (Step of Steps, for picture
	// Picture of the run). Preview, when the caller asked for previews,
	// holds the current prediction of the clean picture as a canvas.
	EventStep EventKind = iota + 1
	// EventToken: the model produced a text token (thinking, an answer, or
	// storyboard text); Text is the text it completes, possibly empty when
	// the token ends inside a character (the pieces of a run, joined, equal
	// its decoding). A last event with TokenID -1 may carry held-back text.
	EventToken
	// EventPicture: a picture is finished (interleave and batches); Canvas
	// holds it.
	EventPicture
)

// Event is a progress report from a running task.
type Event struct {
	Kind    EventKind
	Picture int // 0-based index of the picture being made
	Step    int // 1-based
	Steps   int
	TokenID int
	Text    string
	// Canvas is a picture in model space, [3, H, W] (EventPicture).
	Canvas []float32
	Width  int
	Height int
}

// Progress receives events; it runs on the task's goroutine, so it must
// return quickly. A nil Progress is allowed.
type Progress func(Event)

func (p Progress) emit(ev Event) {
	if p != nil {
		p(ev)
	}
}
