"""Prints a plausible C/C++ build log at 40-90 lines per second, forever.

Run inside the terminal of the ``terminal-log`` workload (by the system
python3: it needs nothing but the standard library). The rate drifts between
40 and 90 lines/s in bursts, as make -j output does; compiler warnings come
with their source line and caret, CMake progress lines in colour.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time

DIRS = ["src/net", "src/codec", "src/ui", "src/util", "src/capture", "third_party/zstd/lib",
        "src/transport", "tests/unit"]  # fmt: skip
STEMS = ["socket", "buffer", "session", "tile_diff", "palette", "rect_merge", "frame_pool",
         "yuv_convert", "relay", "handshake", "window", "scroll_detect", "huffman", "arena",
         "options", "logging", "thread_pool", "clipboard", "cursor", "input_map"]  # fmt: skip
FLAGS = "-O2 -g -Wall -Wextra -fPIC -std=c++17 -DNDEBUG -Iinclude -Ithird_party/zstd/lib"
WARNINGS = [
    ("unused variable '{v}'", "-Wunused-variable", "    int {v} = 0;"),
    (
        "comparison of integer expressions of different signedness: 'int' and 'size_t'",
        "-Wsign-compare",
        "    for (int i = 0; i < {v}.size(); ++i) {{",
    ),
    ("'{v}' may be used uninitialized", "-Wmaybe-uninitialized", "    return {v} + offset;"),
    ("unused parameter '{v}'", "-Wunused-parameter", "static void on_event(int {v}) {{"),
]
VARS = ["len", "stride", "rows", "count", "ctx", "flags", "tile", "delta", "width"]
GREEN, BOLD, PURPLE, RESET = "\033[32m", "\033[1m", "\033[35m", "\033[0m"


def lines(rng: random.Random):  # type: ignore[no-untyped-def]
    done, total = 0, 412
    while True:
        done = done % total + 1
        d, s = rng.choice(DIRS), rng.choice(STEMS)
        pct = 100 * done // total
        kind = rng.random()
        if kind < 0.55:
            yield (
                f"[{pct:3d}%] {GREEN}Building CXX object {d}/CMakeFiles/{d.split('/')[-1]}"
                f".dir/{s}.cpp.o{RESET}"
            )
        elif kind < 0.85:
            yield f"/usr/bin/c++ {FLAGS} -MD -MT {d}/{s}.cpp.o -c /home/build/project/{d}/{s}.cpp"
        elif kind < 0.95:
            msg, flag, src = rng.choice(WARNINGS)
            v = rng.choice(VARS)
            line, col = rng.randint(20, 900), rng.randint(5, 30)
            yield (
                f"{BOLD}/home/build/project/{d}/{s}.cpp:{line}:{col}:{RESET} "
                f"{PURPLE}{BOLD}warning:{RESET} {msg.format(v=v)} [{flag}]"
            )
            yield f"  {line} | {src.format(v=v)}"
            yield "      | " + " " * (col - 1) + f"{GREEN}{BOLD}^~~~~{RESET}"
        else:
            yield f"[{pct:3d}%] {GREEN}{BOLD}Linking CXX static library lib{s}.a{RESET}"


def main() -> None:
    """``buildlog.py [SEED [FIFO]]``: with FIFO, wait for a line on it first
    (the recorder starts the build when it starts capturing)."""
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as go:
            go.readline()
    rate = 60.0
    next_t = time.monotonic()
    burst_end = next_t
    out = sys.stdout
    for line in lines(rng):
        now = time.monotonic()
        if now >= burst_end:  # a new burst at a new rate
            rate = rng.uniform(40, 90)
            burst_end = now + rng.uniform(0.3, 1.2)
        out.write(line + "\n")
        out.flush()
        next_t += 1 / rate
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_t = time.monotonic()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):  # killed by the recorder
        main()
