"""words45: the agent reads the name the host saved its file as.

Found walking (walk45): the agent's ``/send`` of ``alice <b>notes.txt``
said ``delivered alice <b>notes.txt (22 bytes): the host saved it`` where
the host had saved it as ``alice bnotes.txt`` (its name made safe), so the
customer asked to open a file the agent could not name. The host now says
the name it saved under, right before its FileResult "saved" (payload
0x07 on the file-results channel, docs/protocol.md); the view and the page
say it when it is not the name sent. A host of the version before says no
name, and the words are those of before (the offered name is all there is).

The real host and view on pseudo-terminals (the page's case:
tests/web/test_words45_saved_as_page.py)."""

from __future__ import annotations

from pathlib import Path

from screencodec.cli.view_commands import _sent_words
from transport.test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["host_and_view"]  # the fixture

NAME = "alice <b>notes.txt"


def test_the_view_says_the_name_the_host_saved_a_file_as(
        tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    sent = tmp_path / NAME
    sent.write_text("the customer's notes\n")  # 21 bytes + \n
    dl = tmp_path / "in"
    dl.mkdir()
    host, view = _join(*host_and_view, "--download-dir", str(dl))
    mark, mark_host = len(view.text), len(host.text)
    view.type(f"/send {sent}")
    host.wait_for(r"Question 2: FILE .*?\[y/N\] ", mark_host)
    host.type("y")
    said = view.wait_for(r"delivered [^\n]*\n", mark).group(0)
    kept = [p.name for p in dl.iterdir()]
    assert len(kept) == 1 and kept[0] != NAME  # the host made it safe
    assert said.rstrip() == f"delivered {NAME} (21 bytes): the host saved it as {kept[0]}"
    assert (dl / kept[0]).read_text() == "the customer's notes\n"


def test_the_words_of_a_host_that_says_no_name_are_as_before() -> None:
    # An answer without the name (a host of the version before): the offered name.
    assert _sent_words(NAME, 21, "delivered", "") == (
        f"delivered {NAME} (21 bytes): the host saved it")  # fmt: skip
    # The same name said back: nothing more to say.
    assert _sent_words("a.txt", 3, "delivered", "", saved_as="a.txt") == (
        "delivered a.txt (3 bytes): the host saved it")  # fmt: skip
