"""``screencodec recordings`` says a missing file and a wrong key file in
words (walk39, from a fresh venv with the wheel): a recording not there was
"[Errno 2] No such file or directory: 'x.screc'"; a key file not there was
"not a screencodec-auditor-private-v1 key file ([Errno 2] ...)", as if it
were the wrong kind, and a one-word file "... (not enough values to unpack
(expected 2, got 1))", Python's words. The real CLI, status 2 each."""

from __future__ import annotations

from pathlib import Path

import pytest

from transport.test_cli import CLI, ENV
from warm_start import warm_run

KIND = "screencodec-auditor-private-v1"
GONE = "No such file or directory"


def _run(cwd: Path, *args: str) -> tuple[int, str]:
    done = warm_run([*CLI, "recordings", *args], capture_output=True, text=True,
                    timeout=30, env=ENV, cwd=cwd, check=False)  # fmt: skip
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("verify", "gone.screc"), f"verify: gone.screc: {GONE}"),
        (("play", "gone.screc"), f"play: gone.screc: {GONE}"),
        (("export", "gone.screc", "--log", "x.jsonl"), f"export: gone.screc: {GONE}"),
        (("list", "d", "--key", "gone.key"), f"list: gone.key: cannot read the key: {GONE}"),
        (("list", "d", "--key", "one.key"), f"list: one.key: not a {KIND} key file"),
        (("list", "d", "--key", "binary.key"), f"list: binary.key: not a {KIND} key file"),
    ],
)  # fmt: skip
def test_walk39_a_missing_file_or_a_wrong_key_in_words(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "one.key").write_text("oneword\n")
    (tmp_path / "binary.key").write_bytes(b"\xff\xfe\x00")
    status, err = _run(tmp_path, *args)
    assert (status, err) == (2, f"screencodec recordings {said}\n")
