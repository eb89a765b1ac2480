"""Review findings in the bridge: peer text the page's schema refuses, and
control granted after the page went away.

* The page's schema.js bounds strings by JavaScript length (UTF-16 units);
  the bridge cut the host's text by code points, so a chat line, a notice or
  a file name of emoji passed the bridge and made the page close itself, and
  again on every reload (chat lines and file rows are replayed).
* A question for CONTROL still open when the page went away was answered
  later with a grant that nobody watched: the page's going away gives control
  back, so a grant that comes after it is given back at once too; and a give-
  back in progress is not undone by such a grant.
"""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMessage, WSMsgType

from screencodec.transport import CONTROL, VIEW, Permission
from screencodec.transport.session import messages as m
from screencodec.web import WebBridge
from screencodec.web.schema import dumps, fit

from .harness import RecordingViewer

_SCHEMA_JS = Path(__file__).parents[2] / "src/screencodec/web/static/app/schema.js"
_EMOJI = "\U0001f600"


def _refused_by_page(frames: list[str]) -> list[str]:
    """The frames the page's own schema.js refuses (run in node)."""
    script = (
        f'import {{ parseServerMessage }} from "{_SCHEMA_JS.as_uri()}";\n'
        'import { readFileSync } from "node:fs";\n'
        'const frames = JSON.parse(readFileSync(0, "utf8"));\n'
        "const bad = frames.filter((f) => { try { parseServerMessage(f); return false; }"
        " catch (e) { return true; } });\n"
        "process.stdout.write(JSON.stringify(bad));\n"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(frames),
                         capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    return list(json.loads(out.stdout))


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the page's schema.js")
def test_host_text_of_emoji_reaches_the_page_in_a_form_its_schema_accepts() -> None:
    async def main() -> tuple[WebBridge, list[str]]:
        bridge = WebBridge()
        out: asyncio.Queue[str | bytes] = asyncio.Queue()
        bridge._out = out
        bridge.viewer = _SlowViewer(bridge)  # type: ignore[assignment]
        long = _EMOJI * 5000
        bridge._from_host(m.Chat(long))
        bridge._from_host(m.Notice(m.Notice.CONTROL_UNAVAILABLE, long))  # notice, then level
        bridge._from_host(m.Notice(m.Notice.NOT_ASKED, long))
        bridge.banner("ended", long)
        bridge._upload_names[7] = _EMOJI * 255  # the page's own name, bounded in code points
        bridge.send({"t": "file_progress", "id": 7, "state": "sent"})
        frames = [x for x in out._queue if isinstance(x, str)]  # type: ignore[attr-defined]
        bridge.close()
        return bridge, frames

    bridge, frames = asyncio.run(main())
    kinds = [json.loads(f)["t"] for f in frames]
    assert kinds == ["chat", "notice", "level", "notice", "banner", "file_progress"]
    replayed = [dumps(row) for row in bridge._rows.values()]  # what a reloaded tab gets
    assert _refused_by_page(frames + replayed) == []
    chat = json.loads(frames[0])["text"]
    assert chat and set(chat) <= {_EMOJI, "."}  # cut whole, never half a pair


class _SlowViewer:
    """A Viewer whose request for CONTROL waits for ``grant``; release gives
    it back as a host would (its revoke goes to the bridge)."""

    def __init__(self, bridge: WebBridge) -> None:
        self.bridge = bridge
        self.level = VIEW
        self.refusal = None
        self.asked = asyncio.Event()
        self.grant = asyncio.Event()
        self.granted = asyncio.Event()
        self.finish = asyncio.Event()  # the request's answer reaches its caller
        self.finish.set()
        self.released: list[Permission] = []
        self.release_called = asyncio.Event()
        self.host_answers_release = asyncio.Event()
        self.host_answers_release.set()

    async def request(self, level: Permission, timeout: float = 60.0) -> bool:
        self.asked.set()  # (Viewer.request's signature; the test times nothing out)
        await self.grant.wait()
        self.level = VIEW | CONTROL
        self.bridge._from_host(m.PermissionGrant(self.level.bits))
        self.granted.set()
        await self.finish.wait()
        return True

    async def release(self, level: Permission) -> bool:
        self.released.append(level)
        self.release_called.set()
        await self.host_answers_release.wait()
        self.level = VIEW
        self.bridge._from_host(m.PermissionRevoke(CONTROL.bits, VIEW.bits))
        return True

    async def request_keyframe(self) -> None:
        pass

    async def key(self, *args: Any) -> None:
        pass

    async def button(self, *args: Any) -> None:
        pass


class _PageSocket:
    """A page's WebSocket as WebBridge.on_page uses it: text frames in, a close."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent: list[str] = []

    def __aiter__(self) -> _PageSocket:
        return self

    async def __anext__(self) -> WSMessage:
        text = await self.incoming.get()
        if text is None:
            raise StopAsyncIteration
        return WSMessage(WSMsgType.TEXT, text, None)

    async def send_str(self, text: str) -> None:
        self.sent.append(text)

    async def send_bytes(self, data: bytes) -> None:
        pass

    async def close(self, code: int = 1000) -> None:
        pass


def _page(bridge: WebBridge) -> tuple[_PageSocket, asyncio.Task[None]]:
    ws = _PageSocket()
    task = asyncio.ensure_future(bridge.on_page(ws, {"resume": "r"}))  # type: ignore[arg-type]
    return ws, task


def test_control_granted_after_the_page_went_away_is_given_back() -> None:
    async def main() -> None:
        bridge = WebBridge()
        viewer = _SlowViewer(bridge)
        bridge.viewer = viewer  # type: ignore[assignment]
        ws, page = _page(bridge)
        ws.incoming.put_nowait('{"t":"control","want":true}')
        await asyncio.wait_for(viewer.asked.wait(), 5)
        ws.incoming.put_nowait(None)  # the page goes while the user reads the question
        await asyncio.wait_for(page, 5)
        viewer.grant.set()  # the user says yes to nobody
        await asyncio.wait_for(viewer.release_called.wait(), 5)
        assert viewer.released == [CONTROL]
        assert CONTROL not in viewer.level and not bridge.held_back
        # A tab that comes back is replayed view only, and no banner of the
        # user taking it back (it was the page's own give-back).
        assert bridge._state["level"]["control"] is False
        assert "banner" not in bridge._state
        bridge.close()

    asyncio.run(main())


def test_a_grant_landing_during_a_give_back_does_not_undo_it() -> None:
    async def main() -> None:
        bridge = WebBridge()
        viewer = _SlowViewer(bridge)
        viewer.host_answers_release.clear()
        viewer.finish.clear()
        bridge.viewer = viewer  # type: ignore[assignment]
        ws, page = _page(bridge)
        ws.incoming.put_nowait('{"t":"control","want":true}')
        await asyncio.wait_for(viewer.asked.wait(), 5)
        viewer.grant.set()
        await asyncio.wait_for(viewer.granted.wait(), 5)
        # Granted, and before the request's caller resumes the agent gives it back.
        asking = list(bridge._tasks)
        give = asyncio.ensure_future(bridge._on_text('{"t":"control","want":false}'))
        await asyncio.wait_for(viewer.release_called.wait(), 5)
        assert bridge.held_back and viewer.released == [CONTROL]
        viewer.finish.set()
        await asyncio.wait_for(asyncio.gather(*asking), 5)
        assert bridge.held_back, "the grant's answer undid the give-back"
        await bridge._on_text('{"t":"key","keysym":97,"down":true,"text":"a"}')
        assert bridge.input_dropped == 1
        viewer.host_answers_release.set()
        await asyncio.wait_for(give, 5)
        assert not bridge.held_back and CONTROL not in viewer.level
        ws.incoming.put_nowait(None)
        await asyncio.wait_for(page, 5)
        sent = [json.loads(x) for x in ws.sent]
        assert not [x for x in sent if x["t"] == "banner"]  # its own give-back: no banner
        bridge.close()

    asyncio.run(main())


def test_fit_counts_as_javascript_does() -> None:
    assert fit("abc", 3) == "abc"
    assert fit(_EMOJI * 3, 5) == _EMOJI * 2  # 4 units; a third would be split
    assert fit("a" + _EMOJI, 2) == "a"
    assert fit("\u00e9" * 10, 10) == "\u00e9" * 10  # BMP characters count one
    assert len(fit(_EMOJI * 300, 300)) == 150


def test_a_call_spawned_and_cancelled_before_it_ran_leaves_no_coroutine_unawaited() -> None:
    """The page went away and the bridge closed in the same moment: the
    give-back spawned for it was cancelled before it started. The call's
    coroutine was made outside the task and never awaited (a RuntimeWarning
    at garbage collection, which failed a fresh-clone run). ``_quietly``
    now makes it inside the task."""

    async def main() -> None:
        bridge = WebBridge()
        viewer = RecordingViewer(VIEW | CONTROL)
        bridge.viewer = viewer  # type: ignore[assignment]
        bridge._spawn(bridge._quietly(bridge.hold_back, viewer))
        bridge._spawn(bridge._quietly(viewer.request_keyframe))
        bridge.close()  # cancels both before they start
        await asyncio.sleep(0)
        assert viewer.sent == []

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert [w for w in caught if "never awaited" in str(w.message)] == []
