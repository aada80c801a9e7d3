package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/internal/version"
)

func TestMainWindowShowsAppName(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := NewMainWindow(a)
	defer w.Close()
	if w.Title() != version.Name {
		t.Errorf("title %q, want %q", w.Title(), version.Name)
	}
	var texts []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			texts = append(texts, l.Text)
		}
		if c, ok := o.(*fyne.Container); ok {
			for _, child := range c.Objects {
				walk(child)
			}
		}
	}
	walk(w.Content())
	found := false
	for _, s := range texts {
		if s == version.Name {
			found = true
		}
	}
	if !found {
		t.Errorf("window labels %q do not show the app name", texts)
	}
}
