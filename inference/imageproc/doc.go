// Package imageproc owns every pixel operation between a picture file and the
// model's float32 tensors, done exactly the way the Python reference (PIL,
// torchvision and numpy) does them:
//
//   - SmartResize: the reference's choice of a resized size (multiples of a
//     factor, a pixel budget), including its rounding quirks.
//   - Decoding picture files (PNG, JPEG, WebP, BMP, GIF first frame, TIFF)
//     into the pixels Pillow would see, and converting them to 8-bit RGB as
//     Pillow's Image.convert("RGB") would, or as load_image_native does (an
//     RGBA picture pasted on white using its alpha). Go's decoders are used,
//     with their YCbCr → RGB step redone the way libjpeg-turbo and libwebp do
//     it (PNG, GIF, BMP and WebP come out bit-identical to Pillow; JPEG
//     differs by the inverse DCT only, a few levels at most). No EXIF
//     auto-rotation, like Pillow.
//   - Resize: a re-implementation of Pillow's Image.resize for 8-bit RGB with
//     the BICUBIC (its default), LANCZOS and BILINEAR filters, bit-identical to
//     Pillow on the golden fixtures.
//   - Normalisation of 8-bit pictures to float32 CHW tensors (ImageNet
//     mean/std for context pictures, mean = std = 0.5 for the canvas), the
//     canvas → 8-bit conversion, and the 16-px / 32-px patch layouts the patch
//     embedders and the flow-matching head use.
//   - PNG encoding with text chunks (generation parameters) and reading them
//     back.
//
// The package knows nothing of the network, its weights or its backends: it
// takes and returns images, sizes and plain []float32 slices. Tensors are
// row-major; a canvas is [3, H, W] (channel, row, column). Sizes follow each
// call's own convention, which is stated on it: SmartResize takes and returns
// (height, width) like the reference, Resize takes (width, height) like Go's
// image package and PIL's size tuples.
//
// Nothing here panics on bad input: sizes, slice lengths and files are
// checked and reported as errors naming the value and what was expected.
package imageproc
