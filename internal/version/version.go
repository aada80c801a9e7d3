// Package version carries the build's version string, set by the Makefile
// from `git describe` through -ldflags.
package version

// Version is overwritten at link time (-X); "dev" marks a plain go build.
var Version = "dev"

// Name is the product name shown in the window title and in --version.
const Name = "SenseNova Studio"
