"""Seeded, plausible source code and terminal output, split into coloured runs."""

from __future__ import annotations

import re

import numpy as np

from ._render import RGB, Run, wordlist, words

__all__ = ["code_lines", "highlight", "log_lines"]

_NAMES = wordlist(
    "frame region tile buffer stride width height offset count index packet damage "
    "rect rows cols level quality encoder session cursor hashes delta scroll queue"
)
_FUNCS = ("compute", "encode", "update", "merge", "flush", "parse", "split", "scan", "send")
_KEYWORDS = frozenset(
    wordlist(
        "def return if elif else for in while import from class with as not and or is None "
        "True False pass break continue yield lambda try except raise"
    )
)

# Light editor theme colours (One Light-like), chosen to give text several hues.
KEYWORD: RGB = (166, 38, 164)
STRING: RGB = (80, 161, 79)
COMMENT: RGB = (140, 145, 155)
NUMBER: RGB = (152, 104, 1)
CALL: RGB = (64, 120, 242)
PLAIN: RGB = (56, 58, 66)

_TOKEN = re.compile(r"(#.*$)|(\"[^\"]*\"|'[^']*')|(\b\d+\b)|(\b\w+\b(?=\())|(\b\w+\b)|(\s+|.)")


def highlight(line: str, /) -> list[Run]:
    """Split a line of Python into coloured runs, as an editor's highlighter would."""
    runs: list[Run] = []
    for m in _TOKEN.finditer(line):
        text = m.group(0)
        if m.group(1):
            colour = COMMENT
        elif m.group(2):
            colour = STRING
        elif m.group(3):
            colour = NUMBER
        elif m.group(4):
            colour = CALL
        elif m.group(5):
            colour = KEYWORD if text in _KEYWORDS else PLAIN
        else:
            colour = PLAIN
        if runs and runs[-1][1] == colour:
            runs[-1] = (runs[-1][0] + text, colour)
        else:
            runs.append((text, colour))
    return runs


def _pick(rng: np.random.Generator, seq: tuple[str, ...] | list[str]) -> str:
    return seq[int(rng.integers(0, len(seq)))]


def code_lines(rng: np.random.Generator, count: int, /) -> list[str]:
    """``count`` lines of Python-looking code: functions, loops, calls, comments."""
    out: list[str] = []
    while len(out) < count:
        fn, a, b = _pick(rng, _FUNCS), _pick(rng, _NAMES), _pick(rng, _NAMES)
        out.append(f"def {fn}_{a}({a}, {b}, level={int(rng.integers(0, 10))}):")
        out.append(f'    """{words(rng, int(rng.integers(4, 12)))}"""')
        for _ in range(int(rng.integers(2, 7))):
            c, d = _pick(rng, _NAMES), _pick(rng, _NAMES)
            kind = int(rng.integers(0, 5))
            if kind == 0:
                out.append(f"    # {words(rng, int(rng.integers(3, 14)))}")
            elif kind == 1:
                out.append(f"    for {c} in range({d}.{_pick(rng, _NAMES)}):")
                out.append(f"        {a} += {_pick(rng, _FUNCS)}({c}, {int(rng.integers(1, 999))})")
            elif kind == 2:
                out.append(f"    if {c} > {int(rng.integers(0, 4096))} and not {d}:")
                out.append(f'        raise ValueError("{_pick(rng, _NAMES)} out of range")')
            else:
                out.append(f"    {c} = {_pick(rng, _FUNCS)}_{d}({a}, {b}={c}, step={kind})")
        out.append(f"    return {a}, {b}")
        out.append("")
    return out[:count]


# Terminal palette (xterm-like on a dark background).
T_FG: RGB = (204, 204, 204)
T_RED: RGB = (240, 80, 70)
T_GREEN: RGB = (90, 200, 90)
T_YELLOW: RGB = (229, 192, 60)
T_BLUE: RGB = (100, 150, 250)
T_CYAN: RGB = (80, 200, 210)
T_DIM: RGB = (130, 130, 130)


def log_lines(rng: np.random.Generator, count: int, /) -> list[list[Run]]:
    """``count`` lines of a busy build/test log in the terminal's colours."""
    out: list[list[Run]] = []
    n = 0
    while len(out) < count:
        n += 1
        a, b = _pick(rng, _NAMES), _pick(rng, _NAMES)
        kind = int(rng.integers(0, 10))
        path = f"src/{a}/{b}_{_pick(rng, _FUNCS)}.c"
        if kind <= 3:
            out.append([("  CC      ", T_FG), (path.replace(".c", ".o"), T_FG)])
        elif kind == 4:
            out.append(
                [
                    (f"{path}:{int(rng.integers(1, 900))}:{int(rng.integers(1, 80))}: ", T_FG),
                    ("warning: ", T_YELLOW),
                    (f"unused variable '{a}' [-Wunused-variable]", T_FG),
                ]
            )
        elif kind == 5:
            out.append(
                [
                    (f"{path}:{int(rng.integers(1, 900))}: ", T_FG),
                    ("error: ", T_RED),
                    (f"'{b}' undeclared (first use in this function)", T_RED),
                ]
            )
        elif kind == 6:
            ok = bool(rng.integers(0, 6))
            out.append(
                [
                    (f"tests/test_{a}.py::test_{_pick(rng, _FUNCS)}_{b} ", T_FG),
                    ("PASSED" if ok else "FAILED", T_GREEN if ok else T_RED),
                    (f"  [{int(rng.integers(0, 100)):3d}%]", T_DIM),
                ]
            )
        elif kind == 7:
            size = int(rng.integers(0, 1 << 20))
            day = int(rng.integers(1, 30))
            out.append(
                [(f"-rw-r--r-- 1 dev dev {size:8d} Nov {day:2d} ", T_FG), (f"{a}_{b}.py", T_FG)]
            )
        elif kind == 8:
            out.append(
                [
                    (f"drwxr-xr-x 2 dev dev     4096 Nov {int(rng.integers(1, 30)):2d} ", T_FG),
                    (f"{a}/", T_BLUE),
                ]
            )
        else:
            out.append(
                [
                    ("[", T_DIM),
                    (f"{n:5d}", T_CYAN),
                    ("] ", T_DIM),
                    (words(rng, int(rng.integers(3, 12))), T_FG),
                ]
            )
    return out
