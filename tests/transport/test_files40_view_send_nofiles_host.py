"""files40: the agent's ``/send`` in ``screencodec view`` to a host that
takes no files (started without ``--download-dir``). Its refusal's reason
code (NO_FILES) tells the viewer, and from then on the session's offers
say so (before: "who is asked" for each, and each was refused at once,
unasked). files41: the host says it up front too (``Notice.TAKES_NO_FILES``,
to a viewer that declared ``Capabilities.FILE_NOTICES``), so the first
offer says so as well (found: it said "who is asked whether to accept it").

Real ``screencodec host`` and ``screencodec view`` on ptys."""

from __future__ import annotations

from pathlib import Path

from .test_attack_prompts import PtyHost
from .test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["host_and_view"]


def test_files40_view_send_to_a_host_that_takes_no_files(
        tmp_path: Path, host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:  # fmt: skip
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(b"x" * 10)
    host, view = _join(*host_and_view)  # no --download-dir: it takes no files
    # The notice comes before the first picture, after the grant that _join
    # waits for: a /send typed in between said "who is asked" (the fresh
    # clone's run, 1 of 1). A status line means a picture was decoded.
    view.wait_for(r"\[view\] \d+x\d+ decoded")
    mark = len(view.text)
    view.type(f"/send {tmp_path / 'a.txt'}")
    view.wait_for(r"offering a\.txt \(10 bytes\) to the host, which said this session that it"
                  r" takes no files\n", mark)  # fmt: skip
    view.wait_for(r"the host did not accept a\.txt: it takes no files\n", mark)
    mark = len(view.text)
    view.type(f"/send {tmp_path / 'b.txt'}")
    view.wait_for(r"offering b\.txt \(10 bytes\) to the host, which said this session that it"
                  r" takes no files\n", mark)  # fmt: skip
    view.wait_for(r"the host did not accept b\.txt: it takes no files\n", mark)
    assert "who is asked" not in view.text, view.text
    assert "Question 2" not in host.text, host.text  # its user was asked nothing
    assert view.leave() == 0
