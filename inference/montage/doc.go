// Package montage owns the --compare picture of the editing command
// (PIPELINES.md 4.6): the input pictures and the output side by side on a
// white canvas, with the prompt wrapped below them, laid out exactly as the
// upstream reference lays it out (16-px padding, row height = output height,
// font size max(18, R/30), greedy word/ideograph wrapping, line height
// int(1.3 × the glyph-box height of "Ag中")).
//
// It also owns the choice of the font that text is drawn with: FindFonts
// looks for the reference's fonts (Noto Sans CJK, then WenQuanYi, then
// DejaVu Sans) in the usual font folders of Linux, macOS and Windows and
// falls back to the built-in Go Regular font, which has no CJK glyphs.
//
// The package only builds the picture: it does not decode or save files, and
// it prints nothing. A caller that wants the reference's one-time warning
// about CJK text without a CJK font checks HasCJKText(prompt) and
// Fonts.HasCJK itself. Text is rendered with golang.org/x/image's
// rasteriser, not FreeType, so glyph pixels differ slightly from Pillow's;
// the geometry (canvas size, picture and line positions) follows the
// reference's rules.
package montage
