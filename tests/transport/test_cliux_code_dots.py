"""A session code written down with dots ("983.006.618"), as people group a
number, is the same code as with spaces or dashes: parse_code takes it, and
so does ``screencodec view`` (it said "that is not a session code" and
exited 2, while "983-006-618" worked). A real host and viewer on loopback."""

from __future__ import annotations

import pytest

from screencodec.transport.channel.codes import parse_code

from .test_cli import answer_when_asked, start_host
from .test_view_cli_ux import read_until, stop, viewer


@pytest.mark.parametrize("typed", ["983.006.618", " 983. 006 .618 ", "983.006-618"])
def test_a_code_with_dots_parses(typed: str) -> None:
    assert parse_code(typed) == "983006618"


@pytest.mark.parametrize("bad", ["983.006.61", "983..006.6189", "98.3006.61x"])
def test_dots_do_not_make_a_wrong_code_right(bad: str) -> None:
    with pytest.raises(ValueError, match="9 digits"):
        parse_code(bad)


def test_the_viewer_joins_with_the_code_typed_with_dots() -> None:
    host, code, password, port = start_host()
    try:
        dotted = code.replace(" ", ".")
        assert dotted.count(".") == 2
        view = viewer(f"127.0.0.1:{port}", "--code", dotted, "--password", password)
        try:
            answer_when_asked(host)
            read_until(view, "granted: view")
        finally:
            stop(view)
    finally:
        stop(host)
