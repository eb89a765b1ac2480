"""One is said in the singular: ``verify`` and ``play`` said "1 updates" and
"1 chunks" of a short recording (walk32). The real command on a crafted
one-picture recording (tests/recording/test_attack_craft.py)."""

from __future__ import annotations

from pathlib import Path

from screencodec.transport.channel.display import counted

from .test_attack_craft import cli, craft, picture


def test_counted_says_one_in_the_singular() -> None:
    assert [counted(n, "update") for n in (0, 1, 2)] == ["0 updates", "1 update", "2 updates"]


def test_verify_and_play_of_one_picture_say_one_update(tmp_path: Path) -> None:
    path = craft(tmp_path / "one.screc", [picture(64, 48)])
    done = cli("verify", path, "--no-pictures")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 1 update, " in done.stdout and "updates" not in done.stdout, done.stdout
    played = cli("play", path, "--at", "0.1", "--out", tmp_path)
    assert played.returncode == 0, played.stdout + played.stderr
    assert ": 0.10 s, 1 update, 0 checkpoints, complete\n" in played.stdout, played.stdout
