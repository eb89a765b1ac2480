"""pop36: a resume ticket's proof of possession (session/proof.py).

Taking the session over from the live link it was taken up on, unasked, is
for the agent's own retry: one that proves, with a secret of the link the
session is live on, bound to its new connection, that it holds that link
(since resume38 at once: test_resume38_proven.py; takeover36 first probed
that link for silence, session/silent.py, gone). A copy of the ticket
alone, a proof made with another link's key, and one made for another
connection (replayed) get the behaviour before takeover36: the retry waits
the bound and the host's user is asked. Under a real dead path (a network
namespace): test_attack36_blip.py (the copy refused) and
test_takeover36_silent.py (the agent back unasked).
"""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Permission
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import link as link_module
from screencodec.transport.session.events import SessionEnded
from screencodec.transport.session.proof import link_key, prove, verifies
from screencodec.transport.session.resume import Ticket

from .helpers import run, until
from .secure_fixtures import FAST
from .test_attack35_resume_tickets import _away, _raw_resume, _read_to_update
from .test_resume import _granted, _lose, _Setup


def test_a_proof_verifies_only_with_the_live_links_key_for_the_connection_it_came_on() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        served: asyncio.Queue[SecureChannel] = asyncio.Queue()
        done = asyncio.Event()

        async def serve(channel: SecureChannel) -> None:
            await served.put(channel)
            await done.wait()

        listener = await listen_direct("127.0.0.1", 0, creds, serve)
        pairs = []
        for _ in range(3):
            viewer = await connect_direct("127.0.0.1", listener.port, creds.code,
                                          creds.password, timeouts=FAST)  # fmt: skip
            pairs.append((await asyncio.wait_for(served.get(), 10), viewer))
        (live_h, live_v), (new_h, new_v), (other_h, other_v) = pairs
        ticket = secrets.token_bytes(32)
        key = link_key(live_v)
        assert key is not None and key == link_key(live_h)  # both ends, never sent
        assert key != link_key(new_v) and key != link_key(other_v)
        proof = prove(key, ticket, new_v)
        assert proof is not None and len(proof) == 32
        assert verifies(proof, ticket, live_h, new_h)
        # Another link's key, a proof replayed on another connection, another
        # ticket, none: no.
        other = prove(link_key(other_v) or b"", ticket, new_v)
        assert not verifies(other, ticket, live_h, new_h)
        assert not verifies(proof, ticket, live_h, other_h)
        assert not verifies(proof, secrets.token_bytes(32), live_h, new_h)
        assert not verifies(None, ticket, live_h, new_h)
        await live_h.close()  # its keys gone: nothing verifies against it
        assert link_key(live_h) is None and not verifies(proof, ticket, live_h, new_h)
        done.set()
        for h, v in pairs:
            await v.close()
            await h.close()
        await listener.close()

    run(main(), 30)


@pytest.mark.parametrize("presented", ["the copy alone", "another link's proof"])
def test_a_retry_without_the_live_links_proof_is_not_probed_and_waits_and_is_asked(
        presented: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The agent's link that took the session up is live and has not
    answered an update; a copy of its ticket is presented: the whole wait,
    then the host's user is asked (no); that link is not taken over."""
    wait = 2.0
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", wait)

    async def main() -> None:
        async with _Setup() as s:
            ticket, _ = await _away(s)
            # A Viewer's ticket keeps the key of the link it came on (Alice's
            # first, lost now): a proof of that link, not of the live one.
            assert isinstance(ticket, Ticket) and ticket.proof_key is not None
            holder = await _raw_resume(s, ticket)
            await _read_to_update(holder)
            (link,) = s.host._runtime.links
            copy = bytes(ticket) if presented == "the copy alone" else ticket
            s.answer = Permission()
            began = time.monotonic()
            with pytest.raises(ConsentDeniedError):
                await s.join(VIEW | CONTROL, resume=copy, who="Mallory")
            took = time.monotonic() - began
            print(f"{presented}: refused after {took:.2f} s")
            assert wait <= took < wait + 2.0, took
            assert len(s.asked) == 2 and s.host.viewers == (link.peer,)
            assert not link.moved and not link.finished.is_set()
            assert not any(isinstance(e, SessionEnded) and e.moved for e in s.seen)
            await holder.close()

    run(main(), 60)


def test_a_viewer_keeps_the_key_of_the_link_its_ticket_came_on_and_after_a_resume_the_new_one(
        ) -> None:  # fmt: skip
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW)
            ticket = await _granted(viewer)
            assert isinstance(ticket, Ticket) and ticket.proof_key == link_key(viewer.channel)
            await _lose(s, viewer, task)
            again, task = await s.join(VIEW, resume=ticket)
            assert again.resume_ticket is not None
            assert again.resume_ticket.proof_key == link_key(again.channel)
            assert len(s.asked) == 1  # resumed unasked
            await again.bye()
            await task

    run(main(), 30)


def test_a_host_that_offers_no_proof_is_sent_none_and_resumes_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """An earlier host sends no offer (here: on a channel this viewer does
    not know): the viewer keeps no key, so it sends no proof (which that
    host would not read; an earlier host resumes the lost session with the
    ticket alone). This host, which reads proofs on the real channel, asks
    its user about a ticket without one (parked38): here, yes."""
    monkeypatch.setattr(link_module, "PROOF_CHANNEL", "test.not-the-proof-channel")

    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW)
            ticket = await _granted(viewer)
            assert isinstance(ticket, Ticket) and ticket.proof_key is None
            await _lose(s, viewer, task)
            again, task = await s.join(VIEW, resume=ticket)
            await until(lambda: again.decoded >= 1, 10, "a picture")
            (link,) = s.host._runtime.links
            assert link._ticket == ticket and link._proof is None  # none sent
            assert len(s.asked) == 2 and again.level == VIEW
            await again.bye()
            await task

    run(main(), 30)
