"""clipfix39: the exceptions a public method of the session layer raises
are public names (errors.py's convention: one root, ScreencodecError, and
the builtin each corresponds to). Host.send_clipboard and
Viewer.send_clipboard raise ClipboardError; Host.send_chat and
Viewer.send_chat raise ChatBacklogError: both were reachable only from
their private modules (transport/session/clipboard.py, chat.py)."""

from __future__ import annotations

import asyncio

import pytest

from screencodec import transport
from screencodec.errors import ScreencodecError
from screencodec.transport.session import chat, clipboard


@pytest.mark.parametrize(
    ("name", "module", "builtin"),
    [("ClipboardError", clipboard, ValueError), ("ChatBacklogError", chat, RuntimeError)],
)
def test_the_session_errors_are_exported_with_their_roots(
        name: str, module: object, builtin: type[Exception]) -> None:  # fmt: skip
    assert name in transport.__all__
    exc = getattr(transport, name)
    assert exc is getattr(module, name)
    assert issubclass(exc, ScreencodecError) and issubclass(exc, builtin)


def test_an_embedder_catches_send_clipboard_s_refusal_by_its_public_name() -> None:
    from screencodec.capture.synthetic import SyntheticDesktop
    from screencodec.transport import ClipboardError, Host, deny

    async def main() -> str:
        async with Host(SyntheticDesktop(96, 64), consent=deny()) as host:
            try:
                await host.send_clipboard("x" * (64 * 1024 + 1))
            except ClipboardError as exc:
                return str(exc)
        return "not raised"

    assert asyncio.run(main()) == "clipboard text of 65537 bytes: at most 65536"
