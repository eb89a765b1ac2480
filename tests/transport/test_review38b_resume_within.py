"""review38b: ``view`` reads SCREENCODEC_TEST_RESUME_WITHIN (walk38's test
knob: how long a lost link is retried) at import; a value that is not a
positive finite number of seconds crashed every ``view`` with a traceback
("could not convert string to float") or made it retry for nan or a
negative time. Expected: such a value is ignored (the default, 60 s)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from free_port import free_port
from screencodec.cli.view_connect import _resume_within


@pytest.mark.parametrize("value", ["abc", "", "nan", "-5", "0", "inf"])
def test_a_bad_resume_within_is_the_default(value: str) -> None:
    assert _resume_within(value) == 60.0


def test_a_good_resume_within_is_taken() -> None:
    assert _resume_within("12.5") == 12.5
    assert _resume_within(None) == 60.0


def test_view_with_a_bad_value_runs_and_says_why_it_could_not_connect() -> None:
    port = free_port()  # a port nobody listens on
    env = {**os.environ, "SCREENCODEC_TEST_RESUME_WITHIN": "abc"}
    done = subprocess.run([sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{port}",
                           "--code", "123456789", "--password", "7kq2m9xa"],
                          env=env, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, (done.returncode, done.stderr)
