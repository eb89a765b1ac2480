"""The wheel, installed into a fresh venv, works on its own compiled extensions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import sys, numpy as np, screencodec
    from screencodec.codecs import _pixels
    from screencodec.damage import _tiles
    for mod in (screencodec, _pixels, _tiles):
        assert sys.prefix in mod.__file__, (mod.__file__, sys.prefix)
    assert _pixels.__file__.endswith(".so") and _tiles.__file__.endswith(".so")
    rng = np.random.default_rng(0)
    f = rng.integers(0, 256, (123, 77, 4), dtype=np.uint8)
    enc, dec = screencodec.ScreenEncoder(77, 123), screencodec.ScreenDecoder()
    fb = dec.decode(enc.encode(f))
    f[5:9, 3:70] = 7
    fb = dec.decode(enc.encode(f))
    assert np.array_equal(fb[..., :3], f[..., :3]) and (fb[..., 3] == 255).all()
    print("round trip ok", screencodec.__version__)
    """
)


def _wheel(tmp: Path) -> Path:
    built = sorted((ROOT / "wheels").glob("screencodec-*.whl"), key=os.path.getmtime)
    if built:
        return built[-1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp),
            str(ROOT),
        ],
        check=True,
    )
    return next(tmp.glob("screencodec-*.whl"))


def test_wheel_contents(tmp_path: Path) -> None:
    names = zipfile.ZipFile(_wheel(tmp_path)).namelist()
    assert "screencodec/py.typed" in names
    for ext in ("screencodec/codecs/_pixels", "screencodec/damage/_tiles"):
        assert any(n.startswith(ext) and n.endswith(".so") for n in names), ext
        assert ext + ".pyi" in names
    assert not any(n.endswith((".pyx", ".c")) for n in names)


def test_wheel_round_trip_in_fresh_venv(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    run = subprocess.run(
        [str(py), "-c", CHECK],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert run.returncode == 0, run.stderr
    assert "round trip ok" in run.stdout
