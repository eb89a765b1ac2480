"""ask42: a yes to the question of a connection its agent is taking the
session over from, read in the very steps the takeover begins in. The
real Host on a loopback listener and the agent's real Viewer; the consent
callback stands for the customer, who answers yes to CONTROL as soon as
the old link is being taken over (the pty host's side, with the words:
test_ask42_host.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.recording import Recorder
from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session import messages as m
from screencodec.transport.session.endreasons import AGENT_MOVED
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.permissions import ConsentRequest, Grant

from .helpers import run, until
from .test_consent41_gone import _audit
from .test_resume import _granted, _Setup
from .test_takeover36_restored import _present


def test_a_yes_read_as_the_takeover_begins_grants_the_new_connection_nothing(
        tmp_path: Path) -> None:  # fmt: skip
    """The agent holds VIEW and asks for CONTROL on its old link; it takes
    its session over on a new connection asking VIEW and CONTROL, and the
    customer's yes to the old question is read in the step after the
    takeover began (the old link moved, its close not yet under way).
    Expected: that yes is dropped (consent.GONE: the agent took the session
    to a new connection), the old link never holds CONTROL, and the new one
    is granted VIEW alone; its CONTROL would be a question of its own. The
    audit log has the yes and a not_granted row saying why. Found on
    main's source: nothing granted either (the old link's close had begun
    by the time the answer came back), but the yes was kept as given: the
    terminal would print "Question 2: yes", and the audit had no
    not_granted row (1 of 1 runs)."""
    rec = tmp_path / "rec"
    rec.mkdir()

    async def main() -> None:
        recorder = Recorder(rec, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            old: list[ViewerLink] = []

            async def customer(request: ConsentRequest) -> Grant:
                s.asked.append(request)
                if request.upgrade:
                    (link,) = old
                    while not link.moved:  # reading the question...
                        await asyncio.sleep(0)
                    assert not link.channel.closed
                return Grant(request.level)  # ...and yes as the takeover begins

            s.host._runtime.consent = recorder.wrap_consent(customer)
            viewer, task = await s.join(VIEW, who="agent")
            ticket = await _granted(viewer)
            old.extend(s.host._runtime.links)
            (link,) = old
            asking = asyncio.ensure_future(viewer.request(CONTROL))
            await until(lambda: len(s.asked) == 2, 10, "the CONTROL question")
            new = await _present(s, ticket, VIEW | CONTROL)
            try:
                first = m.decode(await new.recv())
                while not isinstance(first, (m.PermissionGrant, m.PermissionDeny)):
                    first = m.decode(await new.recv())
                assert first == m.PermissionGrant(VIEW.bits), first
                assert CONTROL not in link.level, link.level
                assert link.question_gone() == AGENT_MOVED
            finally:
                await new.close()
                asking.cancel()
                task.cancel()
                await asyncio.gather(asking, task, return_exceptions=True)
        recorder.close()

    run(main(), 60)
    # The new link's export holds the old one's rows too (its chain).
    rows = [r for p in sorted(rec.glob("*.screc")) for r in _audit(p, tmp_path)]
    said = [{k: v for k, v in r.items() if k in ("type", "answer", "why", "upgrade")}
            for r in rows if r["type"] in ("consent", "not_granted")]  # fmt: skip
    upgrades = [i for i, r in enumerate(said) if r.get("upgrade")]
    assert upgrades, said
    for i in upgrades:
        assert said[i + 1] == {
            "type": "not_granted", "answer": "control",
            "why": f"{AGENT_MOVED}: the answer came too late"}, said
    assert not [r for r in rows if r["type"] == "grant" and "control" in r["level"]], rows
