#!/usr/bin/env python3
"""Record the real-screen corpus: real apps under a private Xvfb, captured with
mss at a fixed rate, stored losslessly as screencodec recordings, with the X
server's damage (XDamage) of every frame.

    python scripts/record_corpus.py [--out corpus] [--only NAME ...] [--size 1920x1080]
                                    [--fps 20] [--seconds 9] [--snapshots DIR]

For each workload (scripts/corpus/workloads.py) it starts its own Xvfb on a
free display, starts the apps, waits until they have drawn, then captures
while a driver thread acts as the user. Frames are kept in memory during the
capture (grab + copy only, so the timing is the apps'), then encoded with
``screencodec.capture.RecordingWriter``, which decodes every update again and
checks it against the captured pixels; the stored clip is then reopened and
decoded once more from disk. Every process started is ended on every exit
path. Missing Debian packages are installed with apt-get when run as root.
See docs/corpus.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus.workloads import WORKLOADS, Context, Workload
from corpus.xsession import XSession

from screencodec.capture import ScreenSource
from screencodec.capture.recording import Recording, RecordingWriter

#: Command -> Debian package that provides it.
PACKAGES = {
    "Xvfb": "xvfb", "xdotool": "xdotool", "xterm": "xterm", "vim": "vim",
    "chromium": "chromium", "mpv": "mpv", "ffmpeg": "ffmpeg", "feh": "feh",
}  # fmt: skip
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
VERSION_CMDS = {
    "xterm": ["xterm", "-version"], "vim": ["vim", "--version"],
    "chromium": ["chromium", "--version"], "mpv": ["mpv", "--version"],
    "feh": ["feh", "--version"], "xdotool": ["xdotool", "version"],
    "ffmpeg": ["ffmpeg", "-version"],
}  # fmt: skip


def ensure_packages(workloads: list[Workload], install: bool) -> None:
    commands = {"Xvfb", "xdotool"}
    for wl in workloads:
        commands.update(wl.apps)
    if any(w.name == "video" for w in workloads):
        commands.add("ffmpeg")
    need = sorted({PACKAGES[c] for c in commands if shutil.which(c) is None})
    if not FONT.exists():
        need.append("fonts-dejavu-core")
    if not need:
        return
    if not install or os.geteuid() != 0:
        sys.exit(f"record_corpus: missing Debian packages: {' '.join(need)} (run as root)")
    print(f"record_corpus: apt-get install {' '.join(need)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *need],
                   check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip


def version_of(app: str) -> str:
    try:
        out = subprocess.run(
            VERSION_CMDS[app], check=False, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired, KeyError):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


Captured = tuple[float, np.ndarray, np.ndarray | None]


def capture(src: ScreenSource, driver: Any, fps: float, seconds: float) -> list[Captured]:
    """Grab at ``fps`` for ``seconds`` while ``driver`` runs in a thread: (time,
    frame, damage) per frame. Each grab is ``grab_hinted`` without partial grabs
    (``src`` made with ``partial_grabs=False``): the X damage since the previous
    grab is taken right before a full grab, as a host does; frame 0's is None."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            driver(stop)
        except BaseException as exc:  # reported after the capture
            errors.append(exc)

    frames: list[Captured] = []
    period = 1.0 / fps
    worker = threading.Thread(target=run, name="driver", daemon=True)
    t0 = time.monotonic()
    worker.start()
    try:
        k = 0
        while k < round(seconds * fps):
            delay = t0 + k * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = time.monotonic()
            frame, damage = src.grab_hinted()
            frames.append((t, frame.copy(), damage))
            # A late grab does not cause a burst: missed slots are skipped.
            k = max(k + 1, int((time.monotonic() - t0) / period + 0.5))
    finally:
        stop.set()
        worker.join(30)
    if errors:
        raise RuntimeError(f"the workload driver failed: {errors[0]!r}") from errors[0]
    return frames


@contextlib.contextmanager
def _punctual(*pids: int) -> Iterator[None]:
    """Raise this thread's priority (and that of ``pids``) for a while: the
    capture loop needs little CPU but punctual wake-ups on a busy machine, and
    each grab waits for the X server. A no-op without the right to do it."""
    old = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in (0, *pids)}
    for pid, nice in old.items():
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, min(nice, -5))
    try:
        yield
    finally:
        for pid, nice in old.items():
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, pid, nice)


def record(
    wl: Workload, out: Path, size: tuple[int, int], *, fps: float, seconds: float, seed: int
) -> dict[str, Any]:
    w, h = size
    print(f"{wl.name}: starting Xvfb and {', '.join(wl.apps)}", flush=True)
    # A fixed scratch path: it shows in the recordings (the browser's address bar).
    work = Path(tempfile.gettempdir()) / f"screencodec-corpus-{wl.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with XSession(w, h, work) as xs:
            src = ScreenSource(display=xs.display, partial_grabs=False)
            try:
                driver = wl.setup(Context(xs, work, src.grab, seed))
                print(f"{wl.name}: recording {seconds:g} s at {fps:g} fps on {xs.display}",
                      flush=True)  # fmt: skip
                with _punctual(xs.server_pid):
                    frames = capture(src, driver, fps, seconds)
            finally:
                src.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    span = frames[-1][0] - frames[0][0]
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "screen": f"Xvfb {w}x{h}x24, no window manager",
        "apps": {app: version_of(app) for app in wl.apps},
        "capture": f"screencodec.capture.ScreenSource (mss {_mss_version()}), grab_hinted "
        "(XDamage taken right before each full grab), frames copied in memory during the "
        "capture, encoded after it",
        "target_fps": fps,
        "achieved_fps": round((len(frames) - 1) / span, 3) if span > 0 else None,
        "seed": seed,
        "script": "scripts/record_corpus.py",
    }
    print(f"{wl.name}: encoding and verifying {len(frames)} frames", flush=True)
    writer = RecordingWriter(out / wl.name, wl.name, w, h, fps=fps, description=wl.description,
                             info=info)  # fmt: skip
    try:
        frames.reverse()
        while frames:  # free each frame once it is stored
            t, frame, damage = frames.pop()
            writer.add(frame, t, damage)
    except BaseException:
        writer.abort()
        raise
    manifest = writer.close()
    with Recording.open(out / wl.name) as rec:  # the stored clip decodes to every hash
        for i in range(len(rec)):
            rec.frame(i)
        known = [rec.damage(i) for i in range(1, len(rec))]
    got = [d for d in known if d is not None]
    print(f"{wl.name}: damage known for {len(got)} of {len(known)} delta frames, "
          f"{sum(len(d) for d in got)} rects", flush=True)  # fmt: skip
    return manifest


def _mss_version() -> str:
    import mss

    return str(getattr(mss, "__version__", "?"))


def snapshot(clip: Path, png: Path) -> None:
    from PIL import Image

    with Recording.open(clip) as rec:
        frame = rec.frame(len(rec) // 2)
        Image.fromarray(np.ascontiguousarray(frame[..., 2::-1])).save(png)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("corpus"))
    p.add_argument("--only", nargs="+", choices=list(WORKLOADS), metavar="NAME")
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--fps", type=float, default=20.0)
    p.add_argument("--seconds", type=float, default=9.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--snapshots", type=Path, help="save the middle frame of each clip as PNG")
    p.add_argument("--no-install", action="store_true", help="never run apt-get")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    chosen = [WORKLOADS[n] for n in (args.only or WORKLOADS)]
    ensure_packages(chosen, install=not args.no_install)
    # SIGTERM ends the run like Ctrl-C: every finally block runs, every app is ended.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for wl in chosen:
        seconds = wl.seconds or args.seconds
        m = record(wl, args.out, (w, h), fps=args.fps, seconds=seconds, seed=args.seed)
        rows.append(m)
        if args.snapshots:
            args.snapshots.mkdir(parents=True, exist_ok=True)
            snapshot(args.out / wl.name, args.snapshots / f"{wl.name}.png")
        print(
            f"{wl.name}: {m['frames']} frames ({m['changed_frames']} changed), "
            f"{m['bytes'] / 1e6:.2f} MB, {m['recorded']['achieved_fps']} fps",
            flush=True,
        )
    print(f"\n{'workload':16} {'frames':>6} {'changed':>7} {'MB':>8} {'kB/frame':>9} {'fps':>6}")
    for m in rows:
        print(
            f"{m['name']:16} {m['frames']:6d} {m['changed_frames']:7d} {m['bytes'] / 1e6:8.2f} "
            f"{m['bytes'] / 1e3 / m['frames']:9.1f} {m['recorded']['achieved_fps']:6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
