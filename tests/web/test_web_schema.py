"""Strict validation of the page's JSON frames, the capabilities a page's
hello turns into, and the bridge's own input gate (no browser needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session import messages as m
from screencodec.web import WebBridge, capabilities_from
from screencodec.web.schema import MAX_TEXT_FRAME, PageProtocolError, parse_page_message
from screencodec.wire import Op

from .harness import RecordingViewer

GOOD = [
    {"t": "hello", "key": "k" * 43, "h264_444": True, "h264_420": False, "zstream": True},
    {"t": "applied", "ok": True, "w": 1920, "h": 1080},
    {"t": "move", "x": -5, "y": 1 << 20},
    {"t": "button", "b": 1, "down": False},
    {"t": "wheel", "dx": 0, "dy": -100},
    {"t": "key", "keysym": 0x1004E2D, "down": True, "text": "\u4e2d"},
    {"t": "chat", "text": "hello"},
    {"t": "file_offer", "id": 1, "name": "a.txt", "size": 0},
    {"t": "bye"},
]

BAD = [
    '{"t": "move", "x": 1}',  # missing field
    '{"t": "move", "x": 1, "y": 2, "z": 3}',  # extra field
    '{"t": "move", "x": 1.5, "y": 2}',  # not an int
    '{"t": "move", "x": true, "y": 2}',  # a bool is not an int
    '{"t": "button", "b": 0, "down": true}',  # out of range
    '{"t": "button", "b": 1, "down": 1}',  # an int is not a bool
    '{"t": "wheel", "dx": NaN, "dy": 0}',  # not JSON
    '{"t": "wheel", "dx": 1e400, "dy": 0}',
    '{"t": "key", "keysym": 536870912, "down": true, "text": ""}',  # keysym > 29 bits
    '{"t": "chat", "text": ""}',  # too short
    '{"t": "nope"}',
    '{"t": 1}',
    "[1, 2]",
    "not json",
    '{"t": "bye"} trailing',
    '{"t": "chat", "text": "' + "x" * 2001 + '"}',
    '{"t": "chat", "text": "' + "x" * MAX_TEXT_FRAME + '"}',
]


@pytest.mark.parametrize("msg", GOOD, ids=[g["t"] for g in GOOD])
def test_valid_frames_parse(msg: dict[str, Any]) -> None:
    assert parse_page_message(json.dumps(msg)) == msg


@pytest.mark.parametrize("text", BAD)
def test_invalid_frames_are_refused(text: str) -> None:
    with pytest.raises(PageProtocolError):
        parse_page_message(text)


def test_capabilities_follow_the_page() -> None:
    hello = {"h264_444": False, "h264_420": True, "zstream": False}
    caps = capabilities_from(hello)
    assert caps.video == m.Capabilities.H264_420
    assert caps.decodes(Op.VIDEO) and not caps.decodes(Op.ZSTREAM) and caps.max_cache == 0
    assert caps.flags & m.Capabilities.RECEIPTS
    none = capabilities_from({"h264_444": False, "h264_420": False, "zstream": True})
    assert not none.decodes(Op.VIDEO) and none.video == 0 and none.decodes(Op.ZSTREAM)
    # What the host parses back is the same.
    assert m.decode(m.encode(caps)) == caps


def test_bridge_forwards_input_only_with_control() -> None:
    async def main() -> None:
        bridge = WebBridge()
        viewer = RecordingViewer(VIEW)
        bridge.viewer = viewer  # type: ignore[assignment]
        for msg in ('{"t":"move","x":1,"y":2}', '{"t":"key","keysym":97,"down":true,"text":"a"}'):
            await bridge._on_text(msg)
        assert viewer.sent == [] and bridge.input_dropped == 2
        viewer.level = VIEW | CONTROL
        await bridge._on_text('{"t":"move","x":1,"y":2}')
        await bridge._on_text('{"t":"wheel","dx":0,"dy":3}')
        assert viewer.sent == [("pointer_move", (1, 2)), ("wheel", (0, 3))]
        # An "applied" with nothing waiting, a second hello: protocol errors.
        with pytest.raises(PageProtocolError):
            await bridge._on_text('{"t":"applied","ok":true,"w":1,"h":1}')
        with pytest.raises(PageProtocolError):
            await bridge._on_text(GOOD_HELLO)
        # Updates resolve in order, refused ones with None.
        a, b = bridge.update(b"a"), bridge.update(b"b")
        await bridge._on_text('{"t":"applied","ok":true,"w":4,"h":3}')
        await bridge._on_text('{"t":"applied","ok":false,"w":0,"h":0}')
        assert a.result() == (4, 3) and b.result() is None
        bridge.close()

    asyncio.run(main())


GOOD_HELLO = json.dumps(GOOD[0])


def test_bridge_gives_the_page_the_hosts_chat_and_notices_as_harmless_text() -> None:
    """textContent keeps markup out, but not a bidi override that flips a
    file name, nor control characters: the bridge neutralises them."""

    async def main() -> None:
        bridge = WebBridge()
        out: asyncio.Queue[str | bytes] = asyncio.Queue()
        bridge._out = out
        evil = "see \u202eexe.txt\x1b[2J\x07 now"
        bridge._from_host(m.Chat(evil))
        bridge._from_host(m.Notice(1, evil))
        for _ in range(2):
            text = json.loads(out.get_nowait())["text"]
            assert not any(c in text for c in "\u202e\x1b\x07"), repr(text)
            assert text.startswith("see ") and text.endswith(" now")
        bridge.close()

    asyncio.run(main())
