// Command sensenova-studio is the desktop app: it builds the main window from
// the ui package and runs it. It never links CUDA; the engine runs in a
// separate process (see DESIGN.md).
package main

import (
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/sensenova/studio/ui"
)

func main() {
	a := fyneapp.NewWithID(ui.AppID)
	w := ui.NewMainWindow(a)
	w.ShowAndRun()
}
