"""The corpus workloads: which apps run, how they are laid out, what the user does.

Each workload's ``setup`` starts its apps on an :class:`XSession`, waits until
they have drawn, and returns a *driver*: a function run in a thread while the
screen is captured, acting as the user (xdotool typing, scrolling, dragging)
until its ``stop`` event is set. Layouts scale with the screen size, so the
same workload records the 1080p corpus and the small test clip.
"""

from __future__ import annotations

import itertools
import os
import random
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .assets import make_article, make_docs_page, make_photo, make_video_clip, prose
from .xsession import XSession

__all__ = ["WORKLOADS", "Context", "Workload"]

Driver = Callable[[threading.Event], None]
HERE = Path(__file__).resolve().parent
MONO = ["-fa", "DejaVu Sans Mono", "-fs", "11", "-b", "6"]
DARK = ["-bg", "#1d1f21", "-fg", "#d5d8d6", "-cr", "#e0e0e0"]
LIGHT = ["-bg", "#fbfbf8", "-fg", "#2a2a2a", "-cr", "#303030"]
PS1 = r"\[\e[1;32m\]support@helpdesk\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]$ "


@dataclass
class Context:
    xs: XSession
    work: Path  # scratch folder for this workload's files
    grab: Callable[[], np.ndarray]  # the current screen (for waiting until apps settle)
    seed: int = 0

    @property
    def size(self) -> tuple[int, int]:
        return self.xs.width, self.xs.height


@dataclass
class Workload:
    name: str
    description: str
    apps: tuple[str, ...]
    setup: Callable[[Context], Driver]
    #: its own length, over --seconds (a long idle stretch: the clock's
    #: seconds digit needs 10 s to show every digit once)
    seconds: float | None = None


def _pause(stop: threading.Event, seconds: float) -> bool:
    """Sleep unless stopped; True when the driver should go on."""
    return not stop.wait(seconds)


def _xterm(ctx: Context, title: str, geometry: str, command: list[str], *extra: str) -> str:
    """Start an xterm running ``command``; return its window id once it is mapped."""
    ctx.xs.spawn(["xterm", "-T", title, "-n", title, *MONO, *extra,
                  "-geometry", geometry, "-e", *command], cwd=_project(ctx))  # fmt: skip
    return ctx.xs.wait_window(f"^{title}$")


def _fill_screen(ctx: Context, wid: str) -> None:
    w, h = ctx.size
    ctx.xs.xdotool("windowmove", "--sync", wid, "0", "0")
    ctx.xs.xdotool("windowsize", "--sync", wid, str(w), str(h))


def _focus(ctx: Context, wid: str, x: int, y: int) -> None:
    # No window manager: focus follows the pointer, so put the pointer there too.
    ctx.xs.xdotool("mousemove", str(x), str(y))
    ctx.xs.xdotool("windowfocus", "--sync", wid)


def _shell(ctx: Context, name: str, body: str) -> list[str]:
    """bash with an rc file that sets the prompt and runs ``body`` first."""
    rc = ctx.work / f"{name}.bashrc"
    rc.write_text(f"PS1='{PS1}'\ncd ~/project 2>/dev/null\n{body}\n", encoding="utf-8")
    return ["bash", "--rcfile", str(rc), "-i"]


def _wallpaper(ctx: Context) -> None:
    w, h = ctx.size
    path = ctx.work / "wallpaper.jpg"
    make_photo(w, h, ctx.seed + 100, "lake").save(path, quality=92)
    ctx.xs.run("feh", "--no-fehbg", "--bg-fill", str(path))


def _project(ctx: Context) -> Path:
    project = ctx.xs.home / "project"
    project.mkdir(exist_ok=True)
    return project


# -- vim-typing -------------------------------------------------------------------

SOURCE = '''"""Session bookkeeping for the support desk: who is connected, since when."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Session:
    code: str
    host: str
    started: float = field(default_factory=time.monotonic)
    viewers: list[str] = field(default_factory=list)
    frames_sent: int = 0
    bytes_sent: int = 0

    def add_viewer(self, name: str) -> None:
        if name in self.viewers:
            raise ValueError(f"{name} is already watching {self.code}")
        self.viewers.append(name)

    def remove_viewer(self, name: str) -> None:
        self.viewers.remove(name)

    def record(self, nbytes: int) -> None:
        self.frames_sent += 1
        self.bytes_sent += nbytes

    @property
    def age(self) -> float:
        return time.monotonic() - self.started

    def bitrate(self) -> float:
        """Mean bits per second since the session started."""
        return 8 * self.bytes_sent / max(self.age, 1e-3)

'''

TYPED = [
    "# Sessions idle for longer than the limit are closed by the janitor,",
    "# which also tells every viewer why the picture stopped.",
    "def expired(sessions, limit=900.0):",
    "    return [s for s in sessions if s.age > limit]",
]


def _vim(ctx: Context) -> Driver:
    project = _project(ctx)
    (project / "session.py").write_text(SOURCE, encoding="utf-8")
    (ctx.xs.home / ".vimrc").write_text(
        "set nocompatible\nsyntax on\nset background=dark\nset number\nset ruler\n"
        "set laststatus=2\nset showmode\nset noautoindent nosmartindent\nset noswapfile\n",
        encoding="utf-8",
    )
    wid = _xterm(ctx, "vim-typing", "80x24+0+0", ["vim", "+normal G", "session.py"], *DARK)
    _fill_screen(ctx, wid)
    w, h = ctx.size
    _focus(ctx, wid, w // 2, h // 2)
    ctx.xs.xdotool("key", "--window", wid, "o")  # a new line below the last, insert mode
    ctx.xs.wait_still(ctx.grab)
    rng = random.Random(ctx.seed)

    def drive(stop: threading.Event) -> None:
        for n, line in enumerate(TYPED):
            if n and not _pause(stop, rng.uniform(0.25, 0.6)):  # thinking
                return
            if n:
                ctx.xs.xdotool("key", "Return")
            for word in line.split(" "):
                chunk = word + " " if word else " "
                # xdotool waits half the delay after each key press and release:
                # 90-170 ms per key, 6-11 keys/s.
                delay = rng.randint(180, 340)
                ctx.xs.xdotool("type", "--delay", str(delay), "--", chunk)
                if stop.is_set():
                    return
        _pause(stop, 60)

    return drive


# -- vim-pages / less-pages --------------------------------------------------------


def _long_source() -> str:
    """SOURCE repeated with its line numbers in a comment: pages that differ."""
    lines = SOURCE.splitlines()
    return "\n".join(f"{line}  # {n}" if line else "" for n, line in
                      enumerate(lines * (2400 // len(lines) + 1), 1))  # fmt: skip


def _pager(ctx: Context, title: str, command: list[str], key: str) -> Driver:
    """A full-screen xterm paging a long file: ``key`` every 1.2 s (pages44:
    a whole-screen repaint of text)."""
    project = _project(ctx)
    (project / "long.py").write_text(_long_source(), encoding="utf-8")
    (ctx.xs.home / ".vimrc").write_text(
        "set nocompatible\nsyntax on\nset background=dark\nset number\nset ruler\n"
        "set laststatus=2\nset noswapfile\n",
        encoding="utf-8",
    )
    wid = _xterm(ctx, title, "80x24+0+0", command, *DARK)
    _fill_screen(ctx, wid)
    w, h = ctx.size
    _focus(ctx, wid, w // 2, h // 2)
    ctx.xs.wait_still(ctx.grab)

    def drive(stop: threading.Event) -> None:
        while _pause(stop, 1.2):
            ctx.xs.xdotool("key", "--window", wid, key)

    return drive


def _vim_pages(ctx: Context) -> Driver:
    return _pager(ctx, "vim-pages", ["vim", "long.py"], "ctrl+f")


def _less_pages(ctx: Context) -> Driver:
    return _pager(ctx, "less-pages", ["less", "long.py"], "space")


# -- terminal-log -----------------------------------------------------------------


def _terminal(ctx: Context) -> Driver:
    _project(ctx)
    fifo = ctx.work / "go"
    os.mkfifo(fifo)
    log = shlex.quote(str(HERE / "buildlog.py"))
    cmd = f"exec python3 {log} {ctx.seed + 1} {shlex.quote(str(fifo))}"
    body = f"printf '%s' \"${{PS1@P}}\"; echo make -j2; {cmd}"
    wid = _xterm(ctx, "terminal-log", "80x24+0+0", _shell(ctx, "terminal", body), *DARK)
    _fill_screen(ctx, wid)
    ctx.xs.wait_still(ctx.grab)

    def drive(stop: threading.Event) -> None:
        if _pause(stop, 0.05):
            with open(fifo, "w") as f:  # the build starts
                f.write("go\n")
        _pause(stop, 60)

    return drive


# -- browser-scroll ---------------------------------------------------------------


def _browser(ctx: Context) -> Driver:
    return _scroll_page(ctx, make_article(ctx.work / "site", seed=ctx.seed + 7), "Field notes")


def _browser_docs(ctx: Context) -> Driver:
    page = make_docs_page(ctx.work / "docs", seed=ctx.seed + 5)
    return _scroll_page(ctx, page, "Admin guide")


def _window_front(ctx: Context) -> Driver:
    """A full-screen xterm (vim on a long file) and Chromium's docs page over
    it, each raised in turn every 1.2 s (no window manager: raised, not
    activated; a whole-screen repaint of another window's text)."""
    (_project(ctx) / "long.py").write_text(_long_source(), encoding="utf-8")
    term = _xterm(ctx, "front-term", "80x24+0+0", ["vim", "long.py"], *DARK)
    _fill_screen(ctx, term)
    _scroll_page(ctx, make_docs_page(ctx.work / "docs", seed=ctx.seed + 5), "Admin guide")
    browser = ctx.xs.wait_window("Admin guide", timeout=120)

    def drive(stop: threading.Event) -> None:
        for n in itertools.count():
            if not _pause(stop, 1.2):
                return
            ctx.xs.xdotool("windowraise", term if n % 2 == 0 else browser)

    return drive


def _scroll_page(ctx: Context, page: Path, title: str) -> Driver:
    """Chromium showing ``page``, read by wheel bursts and Page Down."""
    w, h = ctx.size
    profile = ctx.work / "chromium-profile"
    ctx.xs.spawn([
        "chromium", "--no-sandbox", "--test-type", "--disable-gpu", "--no-first-run",
        "--no-default-browser-check", "--disable-extensions", "--disable-sync",
        "--disable-background-networking", "--disable-component-update",
        "--disable-features=Translate,MediaRouter,OptimizationHints",
        "--hide-crash-restore-bubble", "--password-store=basic", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--window-position=0,0", f"--window-size={w},{h}",
        page.as_uri(),
    ])  # fmt: skip
    wid = ctx.xs.wait_window(title, timeout=120)
    _focus(ctx, wid, w // 2, h * 2 // 3)
    ctx.xs.wait_still(ctx.grab, quiet=2.0, timeout=120)
    rng = random.Random(ctx.seed)

    def drive(stop: threading.Event) -> None:
        if not _pause(stop, 0.4):
            return
        steps = 0
        while not stop.is_set():
            steps += 1
            if steps % 6 == 5:
                ctx.xs.xdotool("key", "Page_Down")
            else:
                notches = rng.randint(2, 5)
                button = "4" if steps % 9 == 8 else "5"  # now and then back up a little
                delay = str(rng.randint(30, 70))
                ctx.xs.xdotool("click", "--repeat", str(notches), "--delay", delay, button)
            if not _pause(stop, rng.uniform(0.25, 0.7)):  # reading
                return

    return drive


# -- window-drag ------------------------------------------------------------------


def _drag_path() -> list[tuple[int, int, int]]:
    """(dx, dy, steps) segments of ~24 px moves, with diagonals, round a loop."""
    return [(24, 0, 14), (17, 17, 9), (0, 24, 5), (-24, 0, 10), (-17, -17, 8), (24, -8, 6),
            (-17, 17, 7), (-24, 0, 6), (17, -17, 9), (24, 0, 8)]  # fmt: skip


def _drag(ctx: Context) -> Driver:
    _wallpaper(ctx)
    project = _project(ctx)
    for i in range(14):
        (project / f"capture_{i:02d}.log").write_text("x" * (i * 977), encoding="utf-8")
    w, h = ctx.size
    body = ("echo \"$ ls -l --color=always /usr/share\"; "
            "ls -l --color=always /usr/share | head -n 26")  # fmt: skip
    wid = _xterm(ctx, "window-drag", f"92x30+{w // 10}+{h // 8}", _shell(ctx, "drag", body), *DARK)
    _focus(ctx, wid, w // 10 + 40, h // 8 + 40)
    ctx.xs.wait_still(ctx.grab)
    geo = ctx.xs.xdotool("getwindowgeometry", "--shell", wid)
    vals = dict(line.split("=", 1) for line in geo.split())
    x, y = int(vals["X"]), int(vals["Y"])
    ww, wh = int(vals["WIDTH"]), int(vals["HEIGHT"])
    rng = random.Random(ctx.seed)

    def drive(stop: threading.Event) -> None:
        nonlocal x, y
        if not _pause(stop, 0.3):
            return
        while not stop.is_set():
            for dx, dy, steps in _drag_path():
                for _ in range(steps):
                    x = min(max(0, x + dx), max(0, w - ww))
                    y = min(max(0, y + dy), max(0, h - wh))
                    ctx.xs.xdotool("windowmove", wid, str(x), str(y))
                    if not _pause(stop, 0.03):  # with xdotool's start, ~25 moves/s: ~600 px/s
                        return
                if not _pause(stop, rng.uniform(0.05, 0.3)):  # the hand stops a moment
                    return

    return drive


# -- video ------------------------------------------------------------------------


def _video(ctx: Context) -> Driver:
    w, h = ctx.size
    vw = (w * 7 // 12) // 2 * 2  # 16:9 in about a third of the screen's area
    vh = (vw * 9 // 16) // 2 * 2
    clip = make_video_clip(ctx.work / "clip", vw, vh, seed=ctx.seed + 11)
    _wallpaper(ctx)
    notes = ctx.work / "meeting-notes.txt"
    rng = np.random.default_rng(ctx.seed + 3)
    paras = ["Meeting notes, Thursday", "=" * 23, ""]
    for _ in range(9):
        words = prose(rng, 3).split()
        line = ""
        for word in words:
            if len(line) + len(word) >= 62:
                paras.append(line)
                line = ""
            line += word + " "
        paras += [line, ""]
    notes.write_text("\n".join(paras), encoding="utf-8")
    body = f'echo "$ cat {notes.name}"; cat {shlex.quote(str(notes))}'
    tw = w - vw - w // 24
    _xterm(ctx, "notes", f"64x46+{w // 96}+{h // 30}", _shell(ctx, "video", body), *LIGHT)
    vx, vy = tw, (h - vh) // 3
    ctx.xs.spawn([
        "mpv", "--no-config", "--vo=x11", "--hwdec=no", "--no-audio", "--loop-file=inf",
        f"--geometry={vw}x{vh}+{vx}+{vy}", "--no-osc", "--osd-level=0", "--no-border",
        "--title=holiday-clip", "--force-window=yes", "--cursor-autohide=always",
        "--no-input-default-bindings", "--really-quiet", str(clip),
    ])  # fmt: skip
    ctx.xs.wait_window("^holiday-clip$")
    ctx.xs.wait_still(ctx.grab, ignore=(vx, vy, vw, vh))

    def drive(stop: threading.Event) -> None:
        _pause(stop, 60)  # the user watches

    return drive


# -- idle -------------------------------------------------------------------------


def _idle(ctx: Context) -> Driver:
    _wallpaper(ctx)
    project = _project(ctx)
    (project / "README.md").write_text("# helpdesk\n", encoding="utf-8")
    w, h = ctx.size
    body = ("echo \"$ ls -la\"; ls -la --color=always; echo \"$ df -h /\"; df -h / ; "
            "echo \"$ uptime\"; echo ' 10:42:07 up 3 days,  2:11,  1 user,  load average: "
            "0.08, 0.11, 0.09'")  # fmt: skip
    wid = _xterm(ctx, "shell", f"100x32+{w // 12}+{h // 9}", _shell(ctx, "idle", body), "-bc",
                 *LIGHT)  # fmt: skip
    clock = (
        "printf '\\033[?25l'; while :; do printf '\\r %s ' \"$(date '+%a %e %b  %H:%M:%S')\"; "
        "sleep 0.2; done"
    )
    ctx.xs.spawn(["xterm", "-T", "clock", *MONO, *DARK, "-geometry", f"24x1-{w // 60}+{h // 60}",
                  "-e", "bash", "-c", clock])  # fmt: skip
    ctx.xs.wait_window("^clock$")
    # The clock ticks; the cursor blinks only once the shell has the focus.
    ctx.xs.wait_still(ctx.grab, quiet=1.5, ignore=(w // 2, 0, w - w // 2, h // 12))
    _focus(ctx, wid, w // 12 + 200, h // 9 + 200)

    def drive(stop: threading.Event) -> None:
        _pause(stop, 60)  # nobody touches anything

    return drive


WORKLOADS: dict[str, Workload] = {
    wl.name: wl
    for wl in [
        Workload(
            "vim-typing",
            "vim in a full-screen xterm (dark, syntax colours); xdotool types "
            "two comment lines and two lines of Python at 7-15 keys/s",
            ("xterm", "vim"),
            _vim,
        ),
        Workload(
            "vim-pages",
            "vim in a full-screen xterm (dark, syntax colours) on a long "
            "Python file; Ctrl-F every 1.2 s (a whole-screen repaint of text)",
            ("xterm", "vim"),
            _vim_pages,
        ),
        Workload(
            "less-pages",
            "less in a full-screen xterm (dark) on a long Python file; space every 1.2 s",
            ("xterm",),
            _less_pages,
        ),
        Workload(
            "window-front",
            "Chromium's docs page and a full-screen xterm (vim on a long file) "
            "raised in turn every 1.2 s",
            ("xterm", "vim", "chromium"),
            _window_front,
        ),
        Workload(
            "terminal-log",
            "a full-screen xterm printing a make/CMake build log with "
            "coloured progress and compiler warnings at 40-90 lines/s",
            ("xterm",),
            _terminal,
        ),
        Workload(
            "browser-scroll",
            "Chromium showing a local long article with photo-like "
            "images, scrolled by wheel bursts and Page Down, now and then back up",
            ("chromium",),
            _browser,
        ),
        Workload(
            "browser-docs",
            "Chromium showing a long technical documentation page (text, "
            "highlighted code, tables, no images), scrolled as browser-scroll is",
            ("chromium",),
            _browser_docs,
        ),
        Workload(
            "window-drag",
            "an xterm with a coloured ls listing dragged in ~24 px steps "
            "(straight and diagonal, with pauses) over a photo wallpaper",
            ("xterm", "feh"),
            _drag,
        ),
        Workload(
            "video",
            "mpv playing a 25 fps film-like clip (pans over photo-like scenes, "
            "film grain) in about a third of the screen, beside a terminal with notes",
            ("mpv", "xterm", "feh"),
            _video,
        ),
        Workload(
            "idle",
            "a shell prompt with a blinking cursor in an xterm over a photo "
            "wallpaper, and a small terminal clock ticking every second",
            ("xterm", "feh"),
            _idle,
        ),
        Workload(
            "idle-30s",
            "the idle desktop above for 30 s, long enough for the session to "
            "reach its steady state (every clock digit seen before)",
            ("xterm", "feh"),
            _idle,
            seconds=30.0,
        ),
    ]
}
