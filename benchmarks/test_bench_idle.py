"""An idle shared screen (idle51, cursor52): the host's CPU while nothing
changes, the display lag of the first change after stillness, and the
pointer's lag.

**CPU**: a real ``screencodec host --source screen --control none`` on a
1920x1080 Xvfb with one idle xterm, a real terminal ``screencodec view``
connected and let in; after 4 s, the host's CPU time (utime + stime, from
/proc) over ``SECONDS`` s of nothing changing, as a share of one core.

**Lag**: in one process, a ``Host`` on ``ScreenSource`` (the same Xvfb and
xterm) and a ``Viewer`` over the sealed transport on 127.0.0.1; after
``STILL`` s without a change, ``xdotool key`` types a letter into the xterm
(its ``cat`` echoes it): from just before xdotool starts to the viewer
applying the first update after it (an idle host sends none before it).

**Pointer lag** (cursor52), in the same session after the keys: after
``POINTER_STILL`` s of a still pointer, ``xdotool mousemove`` to a new
place: from just before xdotool starts to the viewer's pointer
(``Viewer.cursor``) standing there. Part of it is xdotool's own
start (a process, an X connection): its run alone is reported beside.

**Control granted** (ends53, ``SCREENCODEC_BENCH_IDLE_CONTROL=1``): the
CPU measure with the host injecting input (``--control xtest``, its watchers
of the local user running) and the viewer started with ``--control``, both
questions answered yes.

With ``$SCREENCODEC_BENCH_BASELINE`` set to another tree's ``src`` (the
code before, say), each run alternates the two trees (their own Python
processes, ``PYTHONPATH``), so both meet the same load; the ratio is the
figure to read. Nothing is asserted.

Run: ``pytest benchmarks/test_bench_idle.py -s`` (or ``python`` it).
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import random
import re
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from _report import write_lines
from screencodec.capture.xvfb import xvfb_xterm

SRC = str(Path(__file__).resolve().parent.parent / "src")
SIZE = (1920, 1080)
SECONDS = float(os.environ.get("SCREENCODEC_BENCH_IDLE_SECONDS", "10"))
STILL = 5.0  #: seconds without a change before each key
KEYS = 4  #: keys (lag samples) per lag run
RUNS = int(os.environ.get("SCREENCODEC_BENCH_IDLE_RUNS", "3"))
POINTER_STILL = 1.0  #: seconds of a still pointer before each move (and up to 50 ms)
#: ends53: the host with control granted (``SCREENCODEC_BENCH_IDLE_CONTROL=1``).
CONTROL = os.environ.get("SCREENCODEC_BENCH_IDLE_CONTROL", "") == "1"
MOVES = int(os.environ.get("SCREENCODEC_BENCH_IDLE_MOVES", "10"))  #: pointer moves per lag run


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read_until(fd: int, buf: bytearray, done: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done(bytes(buf)):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"the host said: {bytes(buf)[-400:]!r}")
        buf += os.read(fd, 4096)


def idle_cpu(src: str, display: str, seconds: float = SECONDS, control: bool = CONTROL) -> float:
    """The host's share of a core while the screen stands still; with
    ``control`` (ends53), the host injects input (``--control xtest``, its
    local-user watchers running) and the viewer asked for control and got it."""
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1", "PYTHONPATH": src}
    py = sys.executable
    ours, theirs = pty.openpty()
    host = subprocess.Popen(
        [py, "-m", "screencodec", "host", "--listen", "0", "--bind", "127.0.0.1",
         "--source", "screen", *(() if control else ("--control", "none")), "--once"],
        stdin=theirs, stdout=theirs, stderr=theirs, env=env)  # fmt: skip
    os.close(theirs)
    procs = [host]
    try:
        buf = bytearray()
        _read_until(ours, buf, lambda b: b"Password:" in b and b"\n" in b.split(b"Password:")[1])
        text = buf.decode(errors="replace")
        port = re.search(r"127.0.0.1:(\d+)", text)
        code = re.search(r"Session code: ([\d ]+)", text)
        password = re.search(r"Password:\s+(\S+)", text)
        assert port and code and password, text
        viewer = subprocess.Popen(
            [py, "-m", "screencodec", "view", f"127.0.0.1:{port.group(1)}", "--code",
             code.group(1).strip(), "--password", password.group(1),
             *(("--control",) if control else ())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env)  # fmt: skip
        procs.append(viewer)
        _read_until(ours, buf, lambda b: b"[y/N]" in b)
        os.write(ours, b"y\n")
        if control:  # the second question: control
            del buf[:]
            _read_until(ours, buf, lambda b: b"[y/N]" in b)
            os.write(ours, b"y\n")
        time.sleep(4)
        before, started = _cpu(host.pid), time.monotonic()
        time.sleep(seconds)
        return (_cpu(host.pid) - before) / (time.monotonic() - started)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        os.close(ours)


async def _lags(display: str, keys: int, moves: int) -> dict[str, list[float]]:
    from screencodec.capture import ScreenSource
    from screencodec.transport import Host, Viewer, allow
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.connect import connect_direct, listen_direct

    env = {**os.environ, "DISPLAY": display}
    host = Host(lambda i: ScreenSource(i, display=display), consent=allow())
    creds = SessionCredentials()
    lags: list[float] = []
    pointer: list[float] = []
    xdotool: list[float] = []
    async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel)
        viewer.record_times = True
        await viewer.start()
        task = asyncio.ensure_future(viewer.run())
        await (await asyncio.create_subprocess_exec(
            "xdotool", "mousemove", "100", "100", env=env)).wait()  # fmt: skip
        for _ in range(keys):
            await asyncio.sleep(STILL)
            seen = len(viewer.applied_at)
            typed = time.perf_counter()
            key = await asyncio.create_subprocess_exec("xdotool", "key", "x", env=env)
            await key.wait()
            deadline = time.monotonic() + 10
            while len(viewer.applied_at) == seen and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            if len(viewer.applied_at) > seen:
                lags.append((viewer.applied_at[seen][1] - typed) * 1000)
        for n in range(moves):
            # Not a whole number of poll periods (1 s is 60 of them): each
            # move at another phase of the host's polls.
            await asyncio.sleep(POINTER_STILL + random.uniform(0, 0.05))
            # Each move a new place, inside the xterm: without a window
            # manager the keys go to the window under the pointer.
            x, y = 100 + 37 * (n % 11), 100 + 23 * (n % 7)
            moved = time.perf_counter()
            move = await asyncio.create_subprocess_exec(
                "xdotool", "mousemove", str(x), str(y), env=env)  # fmt: skip
            await move.wait()
            ran = time.perf_counter()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                at = viewer.cursor
                if at is not None and (at.x, at.y) == (x, y):
                    pointer.append((time.perf_counter() - moved) * 1000)
                    xdotool.append((ran - moved) * 1000)
                    break
                await asyncio.sleep(0.0005)
        await viewer.bye()
        await task
    await host.close()
    return {"lag": lags, "pointer": pointer, "xdotool": xdotool}


def first_change_lags(src: str, display: str, keys: int = KEYS,
                      moves: int = MOVES) -> dict[str, list[float]]:  # fmt: skip
    """Milliseconds from each key to the viewer's first update after it
    ("lag"), from each pointer move to the viewer's pointer there
    ("pointer"; "xdotool": the move's own run), measured by ``src``'s code
    in a process of its own."""
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, __file__, "--lags", display, str(keys), str(moves)],
                         env=env, capture_output=True, text=True, check=True,
                         timeout=120 + 15 * moves)  # fmt: skip
    lags: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return lags


def measure(runs: int = RUNS) -> dict[str, dict[str, list[float]]]:
    trees = {"this": SRC}
    baseline = os.environ.get("SCREENCODEC_BENCH_BASELINE")
    if baseline:
        trees["baseline"] = baseline
    out: dict[str, dict[str, list[float]]] = {
        name: {"cpu": [], "lag": [], "pointer": [], "xdotool": []} for name in trees}
    with xvfb_xterm(*SIZE, cols=100, rows=40, at=(50, 50)) as display:
        for run in range(runs):
            order = list(trees.items())
            for name, src in order if run % 2 == 0 else order[::-1]:
                out[name]["cpu"].append(idle_cpu(src, display))
                for what, got in first_change_lags(src, display).items():
                    out[name][what] += got
    return out


def report(result: dict[str, dict[str, list[float]]]) -> list[str]:
    lines = [f"idle 1080p host, load {os.getloadavg()[0]:.2f}:"]
    for name, got in result.items():
        cpu = ", ".join(f"{c * 100:.1f}" for c in got["cpu"])
        lag = got["lag"]
        lines.append(f"  {name}: CPU {cpu} % of a core; first change lag median "
                     f"{statistics.median(lag):.0f} ms, max {max(lag):.0f} ms "
                     f"({len(lag)} keys: {', '.join(f'{x:.0f}' for x in lag)})")  # fmt: skip
        moves, runs = got["pointer"], got["xdotool"]
        if moves:
            lines.append(f"    pointer lag median {statistics.median(moves):.1f} ms, max "
                         f"{max(moves):.1f} ms ({len(moves)} moves: "
                         f"{', '.join(f'{x:.0f}' for x in moves)}); xdotool's own run "
                         f"median {statistics.median(runs):.1f} ms")  # fmt: skip
    if "baseline" in result:
        ratio = statistics.median(result["this"]["cpu"]) / statistics.median(
            result["baseline"]["cpu"])
        lines.append(f"  CPU this/baseline (medians): {ratio:.2f}")
    return lines


def test_idle_host_cpu_and_first_change_lag(request: pytest.FixtureRequest) -> None:
    write_lines(request, report(measure()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--lags"]:
        print(json.dumps(asyncio.run(_lags(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))))
    else:
        print("\n".join(report(measure())))
