"""The wheel, built from this tree in this test run and installed into a fresh
venv, carries and imports every compiled extension the source defines."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import screencodec

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

#: Every extension the source defines: setup.py builds one per .pyx.
EXTENSIONS = sorted(
    ".".join(p.relative_to(SRC).with_suffix("").parts) for p in (SRC / "screencodec").rglob("*.pyx")
)

CHECK = textwrap.dedent(
    """
    import importlib, importlib.machinery, json, sys
    from pathlib import Path
    import numpy as np, screencodec

    expected = json.loads(sys.argv[1])
    root = Path(screencodec.__file__).parent
    assert sys.prefix in str(root), (str(root), sys.prefix)
    found = sorted({
        ".".join(p.relative_to(root.parent).parts).split(".cpython")[0].split(".abi3")[0]
        for suffix in importlib.machinery.EXTENSION_SUFFIXES for p in root.rglob("*" + suffix)
    })
    assert found == expected, (found, expected)
    for name in found:
        mod = importlib.import_module(name)
        assert mod.__file__.startswith(str(root)), (name, mod.__file__)
        assert isinstance(mod.__loader__, importlib.machinery.ExtensionFileLoader), name
    rng = np.random.default_rng(0)
    f = rng.integers(0, 256, (123, 77, 4), dtype=np.uint8)
    enc, dec = screencodec.ScreenEncoder(77, 123), screencodec.ScreenDecoder()
    fb = dec.decode(enc.encode(f))
    f[5:9, 3:70] = 7
    fb = dec.decode(enc.encode(f))
    assert np.array_equal(fb[..., :3], f[..., :3]) and (fb[..., 3] == 255).all()
    print("imported", len(found), "extensions; round trip ok", screencodec.__version__)
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree's wheel, built now (compiled objects in build/ are reused)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT)],
        check=True,
    )  # fmt: skip
    (built,) = out.glob("screencodec-*.whl")
    return built


def test_wheel_is_this_version(wheel: Path) -> None:
    version = importlib.metadata.version("screencodec")
    assert wheel.name.startswith(f"screencodec-{version}-")
    assert screencodec.__version__ == version


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "screencodec/py.typed" in names
    assert len(EXTENSIONS) >= 5, EXTENSIONS
    for ext in EXTENSIONS:
        stem = ext.replace(".", "/")
        assert any(n.startswith(stem + ".") and n.endswith(".so") for n in names), ext
        assert stem + ".pyi" in names, ext
    shipped = sorted(
        n.split(".")[0].replace("/", ".") for n in names if n.endswith(".so")
    )
    assert shipped == EXTENSIONS
    assert not any(n.endswith((".pyx", ".c")) for n in names)


def test_wheel_imports_every_extension_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    # The venv has no pip of its own: this venv's pip installs into it
    # (--python), as a venv's own would. Seeding a pip (ensurepip) took 15 s,
    # and compiling the installed sources 6.5 s more (the check imports them
    # 0.4 s slower uncompiled), of this test's 35 s on a quiet machine (speed37).
    # Without PYTHONPATH (a worktree's tests set it to their src): pip would
    # take the screencodec found there as installed, and the check import it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-compile",
         "--disable-pip-version-check", str(wheel)],
        check=True, env=env,
    )  # fmt: skip
    run = subprocess.run(
        [str(py), "-c", CHECK, json.dumps(EXTENSIONS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert f"imported {len(EXTENSIONS)} extensions; round trip ok" in run.stdout
