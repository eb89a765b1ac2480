"""walk34: ``screencodec recordings export FILE --audit`` (the README says
export writes "the audit log as JSONL") was refused with "unrecognized
arguments: --audit" alone: nothing said that the option is ``--log
OUT.jsonl``, and difflib finds --audit close to none of export's options.
Expected: the refusal names what to pass. The real command in a
subprocess, as a person types it (tests/test_walk33_cli_prefix.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from warm_start import warm_run

_HINT = "(the audit log is written with --log OUT.jsonl)"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([sys.executable, "-m", "screencodec", *args], capture_output=True,
                    text=True, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize("word", ["--audit", "--audit=audit.jsonl", "--audit-log", "--events"])
def test_walk34_export_audit_says_to_give_log(word: str) -> None:
    done = _run("recordings", "export", "session.screc", word)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last == (f"screencodec recordings export: error: unrecognized arguments: {word} "
                    f"{_HINT}"), done.stderr  # fmt: skip


def test_walk34_export_help_says_what_log_writes() -> None:
    done = _run("recordings", "export", "--help")
    assert done.returncode == 0, done.stderr
    assert "--log OUT.jsonl the audit log as JSON lines" in " ".join(done.stdout.split())


def test_walk34_other_commands_keep_their_refusal() -> None:
    """The hint is export's: ``play`` has --events of its own, and verify
    refuses --audit without a word about --log."""
    done = _run("recordings", "verify", "session.screc", "--audit")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "screencodec recordings verify: error: unrecognized arguments: --audit")
