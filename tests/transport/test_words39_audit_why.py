"""words39: what the audit log says of a first grant without CONTROL, and
of a refusal whose Notice and Deny another host message came between.

(a) Found: the first grant of VIEW alone was logged ``grant view`` and no
more, whatever the reason: the agent asked only to view, the host cannot
give control (no input injector, or started without control: the host's
Notice CONTROL_UNAVAILABLE comes after the grant, which the log does not
read as the grant's), or the host's user let them view only. Expected: the
row says why in ``no_control``, words made from the host's own facts, never
the peer's text.

(b) Found: a permission refused unasked was logged with ``why`` only when
the host's Notice came right before its PermissionDeny: an update or a
chat line the host sent between them (its send waits its turn for the
connection, and another message's may take it) left the deny without its
reason. Expected: the reason goes with the deny (the host's session tells
the recording), whatever is sent between.

Real Host with a Recorder and a Viewer over sealed channels on loopback;
the slipped message through the AuditTracker itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.audit import AuditTracker
from screencodec.transport import CONTROL, VIEW, Host, Viewer
from screencodec.transport.channel.base import ChannelTap
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.transport.session.refusal import NO_INJECTOR

from .secure_fixtures import run

#: The words of each reason (recording/audit.py, session/link.py).
ASKED_VIEW = "the agent asked only to view"
VIEW_ONLY = "the host's user let them view only"


async def _all(request: ConsentRequest) -> Grant:
    return Grant(request.level)


async def _view_only(request: ConsentRequest) -> Grant:
    return Grant(VIEW)


def _session(tmp_path: Path, asked: Any, consent: Any = _all, **host: Any) -> list[dict[str, Any]]:
    """One session: a viewer asks for ``asked``, and leaves; the events."""

    async def main() -> Path:
        recorder = Recorder(tmp_path, host_id="test-host")
        served = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=consent,
                      recorder=recorder, **host)  # fmt: skip
        creds = SessionCredentials()
        async with served, await listen_direct("127.0.0.1", 0, creds, served.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            viewer = Viewer(channel, who="Alice\x1b[2J")
            await viewer.start(asked)
            task = asyncio.ensure_future(viewer.run())
            await viewer.bye("done")
            await task
            done = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return done[0].path

    with RecordingReader(run(main(), timeout=60)) as reader:
        return [{k: v for k, v in e.items() if k != "t"} for e in reader.events()]


def _grants(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "grant"]


def test_a_grant_the_agent_asked_only_view_for_says_so(tmp_path: Path) -> None:
    events = _session(tmp_path, VIEW, injector=RecordingInjector())
    assert _grants(events) == [{"type": "grant", "level": "view", "no_control": ASKED_VIEW}]


def test_a_grant_without_control_the_host_cannot_give_says_why(tmp_path: Path) -> None:
    """No injector: the host's own words (the Notice the agent is sent)."""
    events = _session(tmp_path, VIEW | CONTROL)
    assert _grants(events) == [{"type": "grant", "level": "view", "no_control": NO_INJECTOR}]
    # An embedder's reason (the CLI's --control none) is the host's own too.
    why = "this host was started with --control none"
    events = _session(tmp_path / "b", VIEW | CONTROL, injector=RecordingInjector(),
                      control_unavailable=why)  # fmt: skip
    assert _grants(events) == [{"type": "grant", "level": "view", "no_control": why}]


def test_a_grant_the_hosts_user_gave_view_only_says_so(tmp_path: Path) -> None:
    events = _session(tmp_path, VIEW | CONTROL, _view_only, injector=RecordingInjector())
    assert _grants(events) == [{"type": "grant", "level": "view", "no_control": VIEW_ONLY}]
    consent = next(e for e in events if e["type"] == "consent")
    assert (consent["asked"], consent["answer"]) == ("view+control", "view")


def test_a_grant_with_control_says_nothing_more(tmp_path: Path) -> None:
    events = _session(tmp_path, VIEW | CONTROL, injector=RecordingInjector())
    assert _grants(events) == [{"type": "grant", "level": "view+control"}]


def test_a_refusals_reason_goes_with_its_deny_whatever_comes_between() -> None:
    """The host's session tells the recording why it refuses (as it sends
    the Notice): an update and a chat line sent between the Notice and the
    Deny take nothing from it. A deny of another level, or one the host's
    session gave no reason for (its user's no), has none."""
    tracker = AuditTracker()
    tracker.from_host(0.0, m.PermissionGrant(VIEW.bits))
    tracker.answer_why("deny", CONTROL.bits, NO_INJECTOR)
    tracker.from_host(0.0, m.Notice(m.Notice.CONTROL_UNAVAILABLE, NO_INJECTOR))
    tracker.from_host(0.0, m.Chat("one moment"))
    assert tracker.from_host(0.0, m.PermissionDeny(CONTROL.bits)) == [
        {"type": "deny", "level": "control", "unasked": True, "why": NO_INJECTOR}]
    assert tracker.from_host(0.0, m.PermissionDeny(CONTROL.bits)) == [
        {"type": "deny", "level": "control"}]  # its user's no: no reason given


class _DenyWaitsItsTurn(ChannelTap):
    """The host's end of the link, whose PermissionDeny waits for the
    connection while another message takes it: as on a busy link, where each
    send waits its turn (SecureChannel's send lock) and the message queued
    first goes first. ``held`` is set as the Deny waits; it goes once
    ``go`` is set."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.held = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, message: bytes, /) -> None:
        if isinstance(m.decode(message), m.PermissionDeny) and not self.go.is_set():
            self.held.set()
            await self.go.wait()
        await self.inner.send(message)


def test_a_refusals_reason_is_logged_with_a_chat_line_between_notice_and_deny(
        tmp_path: Path) -> None:  # fmt: skip
    """A real session: the host cannot give CONTROL (no injector), the agent
    asks for it, and the host's user's chat line goes between the Notice
    and the Deny on the wire. Found: ``deny control`` without ``why``."""

    async def main() -> Path:
        recorder = Recorder(tmp_path, host_id="test-host")
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=_all,
                    recorder=recorder)  # fmt: skip
        links: list[_DenyWaitsItsTurn] = []

        async def serve(channel: Any) -> str:
            links.append(_DenyWaitsItsTurn(channel))
            return await host.serve(links[-1])

        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            viewer = Viewer(channel, who="Alice")
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            asking = asyncio.ensure_future(viewer.request(CONTROL, timeout=10))
            await asyncio.wait_for(links[0].held.wait(), 10)
            await host.send_chat("between the notice and the deny")
            links[0].go.set()
            assert await asking is False
            await viewer.bye("done")
            await task
            done = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return done[0].path

    with RecordingReader(run(main(), timeout=60)) as reader:
        events = reader.events()
    kinds = [e["type"] for e in events]
    assert kinds.index("chat") < kinds.index("deny"), kinds  # it did come between
    (deny,) = [e for e in events if e["type"] == "deny"]
    assert (deny["level"], deny.get("unasked"), deny.get("why")) == (
        "control", True, NO_INJECTOR), deny
