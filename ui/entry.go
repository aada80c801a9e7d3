package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// actionEntry is an entry that hands Ctrl+Enter (the screen's Start) and
// Esc (its Cancel) to its screen: a focused entry receives every key, so
// the window's shortcuts never see them while the user types.
type actionEntry struct {
	widget.Entry
	s screen
}

func newActionEntry(s screen, multiLine bool) *actionEntry {
	e := &actionEntry{s: s}
	e.MultiLine = multiLine
	if multiLine {
		e.Wrapping = fyne.TextWrapWord
	}
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut runs the screen's action on Ctrl+Enter.
func (e *actionEntry) TypedShortcut(sc fyne.Shortcut) {
	if cs, ok := sc.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) && cs.Modifier == fyne.KeyModifierShortcutDefault {
		e.s.Start()
		return
	}
	e.Entry.TypedShortcut(sc)
}

// TypedKey cancels on Esc.
func (e *actionEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape {
		e.s.Cancel()
		return
	}
	e.Entry.TypedKey(k)
}
