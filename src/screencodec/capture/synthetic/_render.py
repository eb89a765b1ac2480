"""Drawing helpers shared by the scenarios: fonts, text strips, photo textures.

Everything here runs once per source (to build cached layers), never per frame,
so it favours clarity over speed. Images are handed around as (h, w, 4) uint8
BGRX arrays with the padding byte 0, ready to be blitted with NumPy slicing.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "LRU",
    "RGB",
    "Font",
    "Run",
    "blank",
    "font",
    "photo_texture",
    "render_runs",
    "to_bgrx",
    "wordlist",
    "words",
]

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
#: A piece of a line of text in one colour.
Run = tuple[str, RGB]
Array = npt.NDArray[np.uint8]

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
_FONT_FILES = {
    ("sans", False): "DejaVuSans.ttf",
    ("sans", True): "DejaVuSans-Bold.ttf",
    ("mono", False): "DejaVuSansMono.ttf",
    ("mono", True): "DejaVuSansMono-Bold.ttf",
}


@functools.lru_cache(maxsize=64)
def font(family: str, size: int, *, bold: bool = False) -> Font:
    """DejaVu ``family`` ("sans" or "mono") at ``size`` px, or Pillow's built-in
    font when DejaVu is not installed (frames then differ between machines, so
    benchmarks should run where DejaVu is present)."""
    size = max(6, size)
    name = _FONT_FILES[(family, bold)]
    for folder in _FONT_DIRS:
        path = folder / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def to_bgrx(img: Image.Image, /) -> Array:
    """An RGB Pillow image as a fresh (h, w, 4) BGRX array, padding 0."""
    data = img.convert("RGB").tobytes("raw", "BGRX")
    out: Array = np.frombuffer(data, np.uint8).reshape(img.height, img.width, 4).copy()
    return out


def blank(width: int, height: int, colour: RGB, /) -> Array:
    """A (height, width, 4) BGRX array filled with ``colour``."""
    out = np.zeros((max(0, height), max(0, width), 4), np.uint8)
    out[..., 0], out[..., 1], out[..., 2] = colour[2], colour[1], colour[0]
    return out


def render_runs(
    runs: Sequence[Run],
    fnt: Font,
    width: int,
    height: int,
    bg: RGB,
    /,
    *,
    x: int = 0,
) -> Array:
    """One line of coloured text, anti-aliased, clipped to a ``height`` strip.

    Each line gets its own strip so that glyphs never bleed into the neighbour
    lines: a scrolled text area is then exactly a shifted stack of strips.
    """
    img = Image.new("RGB", (max(1, width), max(1, height)), bg)
    draw = ImageDraw.Draw(img)
    pos = float(x)
    for text, colour in runs:
        if text:
            draw.text((pos, 0), text, font=fnt, fill=colour)
            pos += fnt.getlength(text)
    return to_bgrx(img)[: max(0, height), : max(0, width)]


def photo_texture(
    width: int,
    height: int,
    rng: np.random.Generator,
    /,
    *,
    grain: int = 6,
    lo: int = 0,
    hi: int = 255,
) -> Array:
    """A natural-image-like picture drawn from ``rng``: a sky-like gradient,
    colour fields at two scales, a few out-of-focus objects, and fine grain.

    It has what photos have and text has not: few flat areas, soft edges, a wide
    spread of colours; compressors treat it like a photo. Values lie in
    [lo, hi]. Built at a quarter of the size and upscaled (bicubic), which is
    both faster and as smooth as optics would make it.
    """
    width, height = max(1, width), max(1, height)
    sw, sh = max(2, -(-width // 4)), max(2, -(-height // 4))

    def field(cells_x: int, cells_y: int, amp: float) -> npt.NDArray[np.float32]:
        # Luminance and colour vary separately, as in real scenes: mostly light
        # and shade, with moderate hue changes.
        small = rng.uniform(-amp, amp, (cells_y, cells_x, 1)).astype(np.float32)
        small = small + rng.uniform(-amp / 3, amp / 3, (cells_y, cells_x, 3)).astype(np.float32)
        chans = [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(small[..., c]), mode="F").resize(
                    (sw, sh), Image.Resampling.BICUBIC
                )
            )
            for c in range(3)
        ]
        return np.stack(chans, axis=-1)

    top = rng.uniform(60, 200, 3).astype(np.float32)
    bottom = rng.uniform(30, 170, 3).astype(np.float32)
    ramp = np.linspace(0.0, 1.0, sh, dtype=np.float32)[:, None, None]
    img = top * (1 - ramp) + bottom * ramp
    img = img + field(max(2, sw // 60), max(2, sh // 60), 60.0)
    img = img + field(max(2, sw // 12), max(2, sh // 12), 16.0)
    small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), mode="RGB")
    objects = small.copy()
    draw = ImageDraw.Draw(objects)
    for _ in range(int(rng.integers(6, 16))):
        x, y = int(rng.integers(0, sw)), int(rng.integers(0, sh))
        rx, ry = int(rng.integers(2, max(3, sw // 5))), int(rng.integers(2, max(3, sh // 5)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=(colour[0], colour[1], colour[2]))
    # A slight blur: out-of-focus object edges and no trace of the cell grid.
    small = Image.blend(small, objects, 0.45).filter(ImageFilter.GaussianBlur(1.5))
    big = small.resize((width, height), Image.Resampling.BICUBIC)
    out = to_bgrx(big)
    g = max(0, grain)
    np.clip(out, lo + g, hi - g, out=out)
    out[..., 3] = 0
    if g:
        # Values sit in [lo + g, hi - g], so adding grain in [-g, g] as wrapping
        # uint8 arithmetic never overflows.
        noise = rng.integers(-g, g + 1, (height, width, 1), dtype=np.int8).view(np.uint8)
        np.add(out[..., :3], noise, out=out[..., :3])
    return out


def wordlist(text: str, /) -> tuple[str, ...]:
    """The words of ``text``: long word lists read best written as prose."""
    return tuple(text.split())


_VOCAB = wordlist(
    "the a of to and in that is for it as with was on be by this are from at or an "
    "which have not they more one all their were can when there been has will would "
    "screen frame update region pixel codec session remote support window display "
    "network latency buffer stream packet cursor scroll tile colour text image video "
    "quality bandwidth connection server client viewer host desktop monitor capture "
    "encoder decoder motion change detect compress lossless refresh frames second "
    "user guide install configure option default value setting example reference "
    "chapter section page document release version feature system service process"
)


def words(rng: np.random.Generator, count: int, /) -> str:
    """``count`` plausible English-ish words as one sentence."""
    picks = rng.integers(0, len(_VOCAB), count)
    text = " ".join(_VOCAB[int(i)] for i in picks)
    return text[:1].upper() + text[1:] + "."


class LRU:
    """A small least-recently-used cache of rendered images keyed by an int.

    Scenarios render text lines lazily (only what is on screen) and keep a bounded
    number, so an endless document costs bounded memory.
    """

    def __init__(self, make: Callable[[int], Array], /, *, size: int) -> None:
        self._make = make
        self._size = max(1, size)
        self._items: OrderedDict[int, Array] = OrderedDict()

    def __getitem__(self, key: int, /) -> Array:
        item = self._items.get(key)
        if item is None:
            item = self._make(key)
            self._items[key] = item
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return item
