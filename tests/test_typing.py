"""The public names type-check: mypy --strict on a program that uses them
(tests/typing/public_usage.py), stubtest on every compiled module's .pyi, and
docs/api.md names every public name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import screencodec
import screencodec.transport

ROOT = Path(__file__).resolve().parent.parent
COMPILED = sorted(
    ".".join(p.relative_to(ROOT / "src").with_suffix("").parts)
    for p in (ROOT / "src" / "screencodec").rglob("*.pyi")
)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv], check=False, capture_output=True, text=True,
        cwd=ROOT, timeout=600,
    )  # fmt: skip


# The runs of mypy read and write mypy's own cache, which `make lint` has
# just filled: mypy checks it against each source, and the program alone is
# analysed (1 s, not 11 s). They are in this one file so that they run one
# after another: the cache is an SQLite database, and mypy has failed on
# "database is locked" with two runs at once (python/mypy#14521).
def test_a_program_using_the_public_api_passes_mypy_strict() -> None:
    done = _run("mypy", "--strict", "tests/typing/public_usage.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_catches_a_misuse_of_the_public_api(tmp_path: Path) -> None:
    # The check above can fail: the same program with one wrong type does.
    bad = tmp_path / "misuse.py"
    bad.write_text(
        "from screencodec import ScreenEncoder\n"
        "enc = ScreenEncoder(640, 480)\n"
        "size: str = enc.encode(b'')\n"
    )
    done = _run("mypy", "--strict", str(bad))
    assert done.returncode == 1
    assert "error" in done.stdout


def test_there_are_compiled_modules_with_stubs() -> None:
    assert "screencodec.damage._tiles" in COMPILED and len(COMPILED) >= 6


def test_each_stub_matches_its_compiled_module() -> None:
    # One stubtest run for all of them: each run spends most of its 9 s
    # analysing the same imports. Its report names the module of each mismatch.
    done = _run("mypy.stubtest", *COMPILED, "--ignore-missing-stub")
    assert done.returncode == 0, done.stdout + done.stderr


def test_docs_api_names_every_public_name() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    for module in (screencodec, screencodec.transport):
        missing = sorted(set(module.__all__) - named)
        assert not missing, f"docs/api.md does not mention {module.__name__}.{missing}"


# review32 of 98e539f: the packages name their public names lazily, and a
# module-level ``__getattr__`` seen by mypy would type every unknown name Any.
def test_mypy_tells_a_misspelled_public_name(tmp_path: Path) -> None:
    bad = tmp_path / "misspelled.py"
    bad.write_text(
        "import screencodec.capture as c\n"
        "from screencodec.transport import Hots\n"
        "source = c.ScreenSourc\n"
        "from screencodec import ScreenEncodr\n"
        "import screencodec\n"
        "version: int = screencodec.__version__\n"
    )
    done = _run("mypy", "--strict", str(bad))
    assert 'Module "screencodec.transport" has no attribute "Hots"' in done.stdout, done.stdout
    assert '"ScreenSourc"' in done.stdout, done.stdout
    assert 'Module "screencodec" has no attribute "ScreenEncodr"' in done.stdout, done.stdout
    assert 'expression has type "str", variable has type "int"' in done.stdout, done.stdout
