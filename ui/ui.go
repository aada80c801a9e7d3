// Package ui owns the Fyne screens and widgets of SenseNova Studio. It never
// imports fyne.io/fyne/v2/app, so every screen can be built and tested
// headless with fyne.io/fyne/v2/test; the caller supplies the fyne.App.
package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/assets"
	"github.com/sensenova/studio/internal/version"
)

// AppID is the application's unique id (also in FyneApp.toml).
const AppID = "io.sensenova.studio"

// Icon is the app icon as a Fyne resource.
var Icon = fyne.NewStaticResource("icon.png", assets.Icon)

// NewMainWindow builds the main window of the app on a.
func NewMainWindow(a fyne.App) fyne.Window {
	a.SetIcon(Icon)
	w := a.NewWindow(version.Name)
	w.SetContent(welcome())
	w.Resize(fyne.NewSize(1100, 760))
	return w
}

// welcome is the window's content until the studio screens exist: the app's
// name and version.
func welcome() fyne.CanvasObject {
	title := widget.NewLabelWithStyle(version.Name, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	ver := widget.NewLabelWithStyle("version "+version.Version, fyne.TextAlignCenter, fyne.TextStyle{})
	return container.NewCenter(container.NewVBox(title, ver))
}
