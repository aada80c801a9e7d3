// Package assets holds the files the app ships inside its binaries: the icon
// (and later sample pictures and translations). It owns bytes only.
package assets

import _ "embed"

// Icon is the application icon, a 256×256 PNG.
//
//go:embed icon.png
var Icon []byte
