package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// taskProgress is a progress bar with "step n/N" and the time left.
type taskProgress struct {
	bar   *widget.ProgressBar
	label *widget.Label
	box   *fyne.Container
	start time.Time
	first int
}

func newTaskProgress() *taskProgress {
	p := &taskProgress{bar: widget.NewProgressBar(), label: widget.NewLabel("")}
	p.bar.TextFormatter = func() string { return "" }
	p.box = container.NewBorder(nil, nil, nil, p.label, p.bar)
	return p
}

// begin resets the bar for a new task.
func (p *taskProgress) begin(what string) {
	p.start, p.first = time.Now(), 0
	p.bar.SetValue(0)
	p.label.SetText(what)
}

// step shows step n of N; the time left is estimated from the steps so far.
func (p *taskProgress) step(picture, n, total int) {
	if n <= 1 || p.first == 0 {
		p.start, p.first = time.Now(), n
	}
	p.bar.SetValue(float64(n) / float64(total))
	text := fmt.Sprintf("step %d/%d", n, total)
	if picture > 0 {
		text = fmt.Sprintf("picture %d · %s", picture+1, text)
	}
	if done := n - p.first; done > 0 {
		per := time.Since(p.start) / time.Duration(done)
		text += " · " + formatDuration(per*time.Duration(total-n)) + " left"
	}
	p.label.SetText(text)
}

// end shows a final message.
func (p *taskProgress) end(msg string) {
	p.label.SetText(msg)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	default:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
}
