#!/usr/bin/env python3
"""Writes the Pillow-made fixtures of package imageproc's tests into this folder.

The files here were made with Debian 12's python3-pil (Pillow 9.4.0, with its
libjpeg-turbo and libwebp) and python3-numpy. Pillow 9.4's bicubic resize
reproduces the golden fixtures (made with Pillow 12) bit for bit. Regenerating
with another Pillow can change the lossy files' bytes, and so the measured
bounds in TestLossyFormats. The tests do not need Python; to regenerate:

    python3 make_fixtures.py

resize_src.png              61x47 RGB noise (fixed seed)
resize_<FILTER>_<W>x<H>.png Image.resize((W, H), FILTER) of it
conv_<name>.png / .gif      pictures of various Pillow modes
conv_<name>.drop.png        Image.open(f).convert("RGB")
conv_<name>.native.png      load_image_native's conversion: mode RGBA pasted on
                            white through its alpha, any other mode convert("RGB")
lossy_<name>.jpg / .webp    a smooth 64x48 picture (or a crop) as JPEG 4:2:0, 4:2:2,
                            4:4:4, grey, lossy WebP with and without alpha and lossless
                            WebP with alpha; lossy_<name>.drop.png
                            is Pillow's decode + convert("RGB") (libjpeg-turbo and
                            libwebp decode differently from Go's decoders)
"""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(20261125)


def path(name):
    return os.path.join(HERE, name)


# --- resampling -------------------------------------------------------------
src = Image.fromarray(rng.randint(0, 256, (47, 61, 3)).astype(np.uint8), "RGB")
src.save(path("resize_src.png"))
sizes = [(23, 17), (97, 71), (61, 20), (30, 47), (200, 13), (5, 4), (1, 1), (61, 47), (64, 48)]
for name, flt in [("BICUBIC", Image.BICUBIC), ("LANCZOS", Image.LANCZOS), ("BILINEAR", Image.BILINEAR)]:
    for w, h in sizes:
        src.resize((w, h), flt).save(path(f"resize_{name}_{w}x{h}.png"))


# --- conversions ------------------------------------------------------------
def native(im):
    if im.mode == "RGBA":
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im, mask=im.split()[3])
        return bg.convert("RGB")
    return im.convert("RGB")


def emit(name, ext, save):
    f = path(f"conv_{name}.{ext}")
    save(f)
    im = Image.open(f)
    print(name, im.mode, im.info.get("transparency"))
    im.convert("RGB").save(path(f"conv_{name}.drop.png"))
    native(Image.open(f)).save(path(f"conv_{name}.native.png"))


W, H = 16, 16
rgba = rng.randint(0, 256, (H, W, 4)).astype(np.uint8)
rgba[0, :, 3] = 0
rgba[1, :, 3] = 255
emit("rgba8", "png", lambda f: Image.fromarray(rgba, "RGBA").save(f))
la = rng.randint(0, 256, (H, W, 2)).astype(np.uint8)
la[0, :, 1] = 0
emit("la8", "png", lambda f: Image.fromarray(la, "LA").save(f))
grey = rng.randint(0, 256, (H, W)).astype(np.uint8)
emit("l8", "png", lambda f: Image.fromarray(grey, "L").save(f))
emit("l8_trns", "png", lambda f: Image.fromarray(grey, "L").save(f, transparency=int(grey[3, 3])))
rgb = rng.randint(0, 256, (H, W, 3)).astype(np.uint8)
emit("rgb8_trns", "png", lambda f: Image.fromarray(rgb, "RGB").save(f, transparency=tuple(int(v) for v in rgb[2, 2])))
pal_idx = rng.randint(0, 8, (H, W)).astype(np.uint8)
palette = rng.randint(0, 256, 8 * 3).astype(np.uint8).tolist()


def pimg():
    im = Image.fromarray(pal_idx, "P")
    im.putpalette(palette)
    return im


emit("p_trns", "png", lambda f: pimg().save(f, transparency=bytes([255, 0, 128, 255, 255, 255, 7, 255])))
emit("p", "png", lambda f: pimg().save(f))
emit("gif_trns", "gif", lambda f: pimg().save(f, transparency=2))
g16 = rng.randint(0, 65536, (H, W)).astype(np.uint16)
g16[0, :8] = [0, 1, 254, 255, 256, 300, 65280, 65535]
emit("i16", "png", lambda f: Image.frombytes("I;16", (W, H), g16.tobytes()).save(f))
bw = rng.randint(0, 2, (H, W)).astype(bool)
emit("bilevel", "png", lambda f: Image.fromarray(bw).save(f))


# --- lossy formats -------------------------------------------------------------
yy, xx = np.mgrid[0:48, 0:64]
smooth = np.stack([np.sin(xx / 5.0) * 90 + 128, np.cos(yy / 4.0) * 90 + 128, (xx * 3 + yy * 2) % 256], -1).astype(np.uint8)
alpha = ((xx * 4) % 256).astype(np.uint8)
for name, im, kw in [
    ("jpeg420.jpg", Image.fromarray(smooth, "RGB"), dict(quality=90)),
    ("jpeggrey.jpg", Image.fromarray(smooth, "RGB").convert("L"), dict(quality=90)),
    ("webplossy.webp", Image.fromarray(smooth, "RGB"), dict(quality=90)),
    ("webplossless.webp", Image.fromarray(np.dstack([smooth, alpha]), "RGBA"), dict(lossless=True)),
    ("jpeg422.jpg", Image.fromarray(smooth, "RGB"), dict(quality=90, subsampling=1)),
    ("jpeg444.jpg", Image.fromarray(smooth, "RGB"), dict(quality=90, subsampling=0)),
    # chroma rows 2 samples wide: libjpeg-turbo repeats chroma instead of interpolating
    ("jpegnarrow.jpg", Image.fromarray(smooth[:9, :3], "RGB"), dict(quality=90)),
    # odd size, lossy with an alpha plane (VP8X + ALPH)
    ("webpalpha.webp", Image.fromarray(np.dstack([smooth, alpha])[:17, :33], "RGBA"), dict(quality=90)),
]:
    im.save(path("lossy_" + name), **kw)
    back = Image.open(path("lossy_" + name))
    print(name, back.mode)
    back.convert("RGB").save(path("lossy_" + os.path.splitext(name)[0] + ".drop.png"))
