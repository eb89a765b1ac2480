"""What the recorded apps show: photo-like images, an article page, a docs page, a film clip.

Everything is generated here from a seed (NumPy and Pillow, ffmpeg for the
clip), so the corpus needs no network and no image files in the repository.
The images imitate photographs where it matters to a codec: smooth gradients,
soft edges, fine texture at every scale and sensor grain, no flat areas.
"""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

__all__ = ["make_article", "make_docs_page", "make_photo", "make_video_clip", "prose"]

F32 = npt.NDArray[np.float32]


def _noise(h: int, w: int, rng: np.random.Generator, base: int, octaves: int) -> F32:
    """Fractal noise in [0, 1]: octaves of bicubically upsampled random grids."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        gh = max(2, round(base * 2**o * h / max(h, w)) + 2)
        gw = max(2, round(base * 2**o * w / max(h, w)) + 2)
        small = Image.fromarray(rng.random((gh, gw), dtype=np.float32), mode="F")
        total += amp * np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))
        norm += amp
        amp *= 0.55
    total /= norm
    lo, hi = np.percentile(total, (1, 99))
    out: F32 = np.clip((total - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)
    return out


def _ridge(w: int, rng: np.random.Generator, octaves: int = 7) -> F32:
    """A mountain skyline: 1-D fractal noise in [0, 1]."""
    total = np.zeros(w, np.float32)
    amp = 1.0
    x = np.linspace(0, 1, w, dtype=np.float32)
    for o in range(octaves):
        n = 3 * 2**o + 2
        pts = rng.random(n).astype(np.float32)
        total += amp * np.interp(x, np.linspace(0, 1, n), pts).astype(np.float32)
        amp *= 0.5
    out: F32 = (total - total.min()) / max(float(np.ptp(total)), 1e-6)
    return out


def _mix(a: F32, b: F32, t: F32) -> F32:
    return a + (b - a) * t[..., None]


def _landscape(w: int, h: int, rng: np.random.Generator, *, dusk: bool, lake: bool) -> F32:
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None] * np.ones((1, w), np.float32)
    if dusk:
        top, horizon = np.array([40, 50, 110], np.float32), np.array([250, 160, 90], np.float32)
    else:
        top, horizon = np.array([45, 110, 200], np.float32), np.array([200, 225, 240], np.float32)
    img = _mix(np.broadcast_to(top, (h, w, 3)), np.broadcast_to(horizon, (h, w, 3)), y**0.8)
    # The sun's glow and soft clouds.
    sx, sy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.15, 0.4) * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    glow = np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * (0.12 * w) ** 2))
    img = _mix(img, np.broadcast_to(np.array([255, 240, 210], np.float32), img.shape), glow * 0.7)
    clouds = np.clip((_noise(h, w, rng, 3, 7) - 0.45) * 2.2, 0, 1) * (1 - y) ** 1.5
    img = _mix(img, np.full_like(img, 245), clouds * 0.85)
    horizon_y = rng.uniform(0.55, 0.65)
    water = horizon_y + 0.08 if lake else 2.0
    cols = np.arange(w)
    for layer in range(3):  # far to near
        near = layer / 2
        ridge = _ridge(w, rng)
        top_y = (horizon_y - (0.30 - 0.08 * layer) * ridge - 0.02 * layer) * h
        rock = (
            np.array([90, 100, 120], np.float32) * (1 - near)
            + np.array([50, 85, 45] if not dusk else [60, 45, 50], np.float32) * near
        )
        tex = _noise(h, w, rng, 8 + 8 * layer, 6)[..., None]
        color = rock * (0.75 + 0.5 * tex)
        haze = 0.55 * (1 - near)
        color = color * (1 - haze) + horizon * haze
        mask = np.clip(yy - top_y[cols][None, :], 0, 1.5) / 1.5  # anti-aliased edge
        if lake:
            mask = mask * (yy < water * h)
        img = _mix(img, color, mask)
    if lake:
        # The water mirrors what is above the shore, rippled and darkened.
        wy = int(water * h)
        rows = np.clip(2 * wy - np.arange(wy, h), 0, h - 1)
        ripple = (np.sin(np.arange(wy, h)[:, None] * 0.35 + cols[None, :] * 0.02) * 3).astype(int)
        src_x = np.clip(cols[None, :] + ripple, 0, w - 1)
        refl = img[rows[:, None], src_x] * 0.7 + np.array([10, 25, 35], np.float32)
        img[wy:] = refl
    else:
        ground = np.array([70, 95, 40] if not dusk else [50, 40, 45], np.float32)
        gtex = _noise(h, w, rng, 40, 5)[..., None]
        gmask = np.clip((y - 0.88) * 30, 0, 1)
        img = _mix(img, ground * (0.7 + 0.6 * gtex), gmask)
    return img


def _bokeh(w: int, h: int, rng: np.random.Generator) -> F32:
    """Out-of-focus city lights: soft discs of many colours on a dark gradient."""
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = np.array([20, 15, 35], np.float32) * (1 - y) + np.array([60, 35, 30], np.float32) * y
    img = np.broadcast_to(img, (h, w, 3)).copy()
    layer = Image.new("RGB", (w, h))
    from PIL import ImageDraw

    draw = ImageDraw.Draw(layer)
    for _ in range(90):
        r = int(rng.uniform(0.01, 0.06) * w)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        col = tuple(
            int(c)
            for c in rng.choice(
                [[255, 190, 90], [255, 120, 80], [120, 180, 255], [255, 230, 180], [200, 255, 160]]
            )
        )
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
    blurred = layer.filter(ImageFilter.GaussianBlur(radius=w / 180))
    lights = np.asarray(blurred, np.float32) * 0.8
    out: F32 = np.clip(img + lights, 0, 255).astype(np.float32)
    return out


def make_photo(w: int, h: int, seed: int, kind: str = "landscape") -> Image.Image:
    """A photo-like RGB image: ``landscape``, ``dusk``, ``lake`` or ``bokeh``."""
    rng = np.random.default_rng(seed)
    if kind == "bokeh":
        img = _bokeh(w, h, rng)
    else:
        img = _landscape(w, h, rng, dusk=kind == "dusk", lake=kind == "lake")
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vignette = 1 - 0.25 * (((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2)
    img = img * vignette[..., None] + rng.normal(0, 3.0, img.shape).astype(np.float32)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


# A word list reads better as text than as a list literal.
_WORDS = (  # noqa: SIM905
    "the a remote session screen codec viewer host frame update pixel window network latency "
    "support engineer customer problem printer driver settings restart cable router office "
    "morning afternoon light mountain valley river trail summit weather cloud wind quiet "
    "village harbour boat market coffee table book photograph colour shadow edge detail "
    "travel road bridge station evening night street lamp rain field forest path stone "
    "simple careful slow fast bright dark warm cold long short old new small large clear"
).split()


def prose(rng: np.random.Generator, sentences: int) -> str:
    """Sentences of plausible English words (their sense does not matter here)."""
    out = []
    for _ in range(sentences):
        n = int(rng.integers(7, 19))
        words = [str(rng.choice(_WORDS)) for _ in range(n)]
        if n > 10:
            words[int(rng.integers(3, n - 3))] += ","
        out.append(" ".join(words).capitalize() + str(rng.choice([".", ".", ".", "?"])))
    return " ".join(out)


def make_article(folder: Path, seed: int = 7) -> Path:
    """A long local article with photos; returns the HTML file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = ["landscape", "lake", "bokeh", "dusk", "landscape", "lake"]
    make_photo(1600, 640, seed, "dusk").save(folder / "hero.jpg", quality=90)
    for i, kind in enumerate(kinds):
        make_photo(1200, 700, seed + 1 + i, kind).save(folder / f"photo{i}.jpg", quality=88)
    parts = []
    for i in range(len(kinds)):
        parts.append(f"<h2>{html.escape(prose(rng, 1).rstrip('.?'))}</h2>")
        for _ in range(int(rng.integers(2, 4))):
            parts.append(f"<p>{html.escape(prose(rng, int(rng.integers(4, 8))))}</p>")
        cap = html.escape(prose(rng, 1))
        parts.append(
            f'<figure><img src="photo{i}.jpg" width="1200" height="700">'
            f"<figcaption>{cap}</figcaption></figure>"
        )
        if i == 2:
            parts.append(f"<blockquote>{html.escape(prose(rng, 2))}</blockquote>")
        for _ in range(int(rng.integers(2, 4))):
            parts.append(f"<p>{html.escape(prose(rng, int(rng.integers(4, 8))))}</p>")
    side = "".join(f"<li><a href='#'>{html.escape(prose(rng, 1)[:48])}</a></li>" for _ in range(8))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Field notes: a week in the valley</title>
<style>
body {{ margin: 0; font: 18px/1.65 "DejaVu Serif", serif; color: #222; background: #f6f4ef; }}
header {{ background: #1d2a38; color: #eee; padding: 14px 40px; font: 600 20px "DejaVu Sans"; }}
header span {{ float: right; font-weight: 400; font-size: 15px; opacity: .8; }}
.hero {{ display: block; width: 100%; height: 420px; object-fit: cover; }}
main {{ display: flex; gap: 48px; max-width: 1280px; margin: 0 auto; padding: 24px 40px; }}
article {{ flex: 1; max-width: 840px; }}
aside {{ width: 300px; font: 15px/1.5 "DejaVu Sans"; }}
aside li {{ margin-bottom: 10px; }}
aside a {{ color: #2b5d8a; }}
h1 {{ font: 700 40px/1.2 "DejaVu Sans"; margin: 16px 0 4px; }}
h2 {{ font: 700 26px/1.3 "DejaVu Sans"; margin-top: 40px; }}
.byline {{ color: #777; font: 15px "DejaVu Sans"; }}
figure {{ margin: 28px 0; }}
figure img {{ width: 100%; height: auto; border-radius: 4px; }}
figcaption {{ color: #666; font: italic 15px "DejaVu Serif"; margin-top: 6px; }}
blockquote {{ border-left: 4px solid #c96; margin: 24px 0; padding: 4px 20px; color: #555;
  font-style: italic; }}
</style></head><body>
<header>Valley Journal <span>Travel &middot; Photography &middot; Notes</span></header>
<img class="hero" src="hero.jpg">
<main><article>
<h1>Field notes: a week in the valley</h1>
<div class="byline">By A. Walker &middot; 12 min read</div>
{"".join(parts)}
</article><aside><h3>Most read</h3><ul>{side}</ul></aside></main>
</body></html>
"""
    path = folder / "article.html"
    path.write_text(page, encoding="utf-8")
    return path


_KEYWORDS = ("def", "return", "if", "for", "in", "import", "from", "class", "await", "async")


def _code_block(rng: np.random.Generator, lines: int) -> str:
    """A Python-like listing with the spans a syntax highlighter would emit."""
    out = []
    indent = 0
    for _ in range(lines):
        words = [str(rng.choice(_WORDS)) for _ in range(int(rng.integers(2, 6)))]
        kw = str(rng.choice(_KEYWORDS))
        name = "_".join(words[:2])
        arg = html.escape(words[-1])
        kind = int(rng.integers(0, 4))
        if kind == 0:
            text = f'<span class="k">{kw}</span> {name}(<span class="a">{arg}</span>):'
        elif kind == 1:
            text = f'{name} = <span class="s">"{html.escape(" ".join(words))}"</span>'
        elif kind == 2:
            text = f'<span class="c"># {html.escape(" ".join(words))}</span>'
        else:
            num = int(rng.integers(0, 999))
            text = f'<span class="k">return</span> {name}(<span class="n">{num}</span>)'
        out.append("    " * indent + text)
        indent = max(0, min(3, indent + int(rng.integers(-1, 2))))
    return "<pre>" + "\n".join(out) + "</pre>"


def make_docs_page(folder: Path, seed: int = 5) -> Path:
    """A long technical documentation page: text, code, tables, no images (a
    support agent reading an admin guide); returns the HTML file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(14):
        parts.append(f"<h2>{i + 1}. {html.escape(prose(rng, 1).rstrip('.?'))}</h2>")
        for _ in range(int(rng.integers(1, 3))):
            parts.append(f"<p>{html.escape(prose(rng, int(rng.integers(3, 7))))}</p>")
        if i % 3 != 2:
            parts.append(_code_block(rng, int(rng.integers(6, 14))))
        else:
            rows = "".join(
                "<tr>"
                + "".join(f"<td>{html.escape(prose(rng, 1)[:28])}</td>" for _ in range(3))
                + f"<td><code>{int(rng.integers(1, 65536))}</code></td></tr>"
                for _ in range(int(rng.integers(4, 9)))
            )
            parts.append(
                f"<table><tr><th>Option</th><th>Meaning</th><th>Default</th>"
                f"<th>Port</th></tr>{rows}</table>"
            )
        parts.append(f"<p class='note'><b>Note:</b> {html.escape(prose(rng, 2))}</p>")
    nav = "".join(
        f"<li><a href='#'>{i + 1}. {html.escape(prose(rng, 1)[:30])}</a></li>" for i in range(14)
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Admin guide: remote support gateway</title>
<style>
body {{ margin: 0; font: 16px/1.6 "DejaVu Sans", sans-serif; color: #1f2328; background: #fff; }}
header {{ background: #24292f; color: #f0f0f0; padding: 12px 32px; font: 600 18px "DejaVu Sans"; }}
main {{ display: flex; gap: 40px; max-width: 1400px; margin: 0 auto; padding: 20px 32px; }}
nav {{ width: 280px; font-size: 14px; border-right: 1px solid #d0d7de; padding-right: 16px; }}
nav li {{ margin-bottom: 8px; list-style: none; }}
nav a {{ color: #0969da; text-decoration: none; }}
article {{ flex: 1; max-width: 980px; }}
h1 {{ font-size: 34px; margin: 8px 0; }}
h2 {{ font-size: 24px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; margin-top: 36px; }}
pre {{ background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 14px;
  font: 14px/1.45 "DejaVu Sans Mono", monospace; }}
.k {{ color: #cf222e; }} .s {{ color: #0a3069; }} .c {{ color: #6e7781; font-style: italic; }}
.n {{ color: #0550ae; }} .a {{ color: #953800; }}
table {{ border-collapse: collapse; margin: 16px 0; }}
td, th {{ border: 1px solid #d0d7de; padding: 6px 12px; text-align: left; }}
tr:nth-child(even) {{ background: #f6f8fa; }}
code {{ font: 14px "DejaVu Sans Mono", monospace; background: #eff1f3; padding: 1px 4px; }}
.note {{ background: #ddf4ff; border-left: 4px solid #54aeff; padding: 8px 14px; }}
</style></head><body>
<header>Gateway documentation</header>
<main><nav><ul>{nav}</ul></nav><article>
<h1>Admin guide: remote support gateway</h1>
{"".join(parts)}
</article></main>
</body></html>
"""
    path = folder / "docs.html"
    path.write_text(page, encoding="utf-8")
    return path


def make_video_clip(folder: Path, w: int, h: int, seed: int = 11, seconds: int = 12) -> Path:
    """A 25 fps H.264 clip: two shots panning over photo-like scenes, with film grain."""
    folder.mkdir(parents=True, exist_ok=True)
    a, b = folder / "shot_a.png", folder / "shot_b.png"
    make_photo(2 * w, 2 * h, seed, "lake").save(a)
    make_photo(2 * w, 2 * h, seed + 1, "landscape").save(b)
    half = seconds / 2
    out = folder / "clip.mp4"
    # Shot A pans right and a little down; shot B drifts left and up while it
    # zooms in slowly. Grain changes every frame (allf=t), as in film.
    graph = (
        f"[0:v]crop={w}:{h}:x='(iw-{w})*0.1+t*{0.7 * w / seconds:.1f}':"
        f"y='(ih-{h})*0.3+t*{0.15 * h / seconds:.1f}',setsar=1[a];"
        f"[1:v]scale=w='{2 * w}*(1+0.03*t)':h='{2 * h}*(1+0.03*t)':eval=frame,"
        f"crop={w}:{h}:x='(iw-{w})*0.7-t*{0.5 * w / seconds:.1f}':"
        f"y='(ih-{h})*0.5-t*{0.2 * h / seconds:.1f}',setsar=1[b];"
        "[a][b]concat=n=2:v=1:a=0,noise=alls=8:allf=t+u,format=yuv420p[v]"
    )
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y",
         "-loop", "1", "-framerate", "25", "-t", f"{half}", "-i", str(a),
         "-loop", "1", "-framerate", "25", "-t", f"{half}", "-i", str(b),
         "-filter_complex", graph, "-map", "[v]", "-r", "25",
         "-c:v", "libx264", "-preset", "fast", "-crf", "21", str(out)],
        check=True,
    )  # fmt: skip
    return out
