"""ask42's attacks on the customer's questions, on the real ``screencodec
host`` on a pty with raw agents over loopback (test_attack_prompts'
PtyHost): "a question to the local user is answered only by its own
answer", "not one pixel before consent".

* A question put right behind one that closed, with a ``--consent-timeout``
  shorter than the 1 s hold, is shown (it was a silent no).
* An agent takes its session over on a new connection while a question of
  its old connection is open: the old question closes saying so, and no
  yes of it reaches the new connection; the new one is asked again.
* ``y`` typed again and again as one agent's question closes (she left)
  and the next agent's appears: none of them answers that question, and
  every one gets a reply.
* A real answer typed 1.1 s after its question shows (put right behind
  one that closed unanswered) is taken.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import TerminalQuestions
from screencodec.transport.session.permissions import CONTROL, VIEW
from screencodec.transport.session.proof import PROOF_CHANNEL, link_key, prove
from screencodec.transport.session.resume import RESUME_CHANNEL

from .secure_fixtures import run
from .test_attack_prompts import (
    PROMPT_END,
    PtyHost,
    _can_control,
    _credentials,
    _drain,
    _next_of,
    _viewer,
)


def _question(n: int, who: str = "") -> str:
    """The pattern of Question ``n`` shown whole, up to its prompt."""
    return rf"\*\*\* Question {n}: .*?{re.escape(who)}.*?" + re.escape(PROMPT_END)


def test_a_question_with_a_timeout_under_the_hold_is_shown_and_closes_saying_no() -> None:
    """``--consent-timeout 0.5``: Alice's question goes unanswered; Bob's,
    waiting its turn, is put as it closes and waits the 1 s hold. Found:
    it timed out in the hold, never shown, and Bob was refused by a
    question the customer never saw. Expected: it is shown, then closes
    without an answer after its 0.5 s: a no."""
    host = PtyHost("--consent-timeout", "0.5", once=False)
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            alice = await _viewer(port, code, password, "Alice")
            q1 = host.wait_for(_question(1, "'Alice'"))
            bob = await _viewer(port, code, password, "Bob")
            assert await _next_of(alice, m.PermissionGrant, m.PermissionDeny) \
                == m.PermissionDeny(VIEW.bits)  # fmt: skip
            await _drain(alice)
            assert await _next_of(bob, m.PermissionGrant, m.PermissionDeny, m.Update) \
                == m.PermissionDeny(VIEW.bits)  # fmt: skip
            await _drain(bob)
            q2 = host.wait_for(_question(2, "'Bob'"), q1.end())
            host.wait_for(r"\n\*\*\* Question 2 closed without an answer: no\.\n", q2.end())

        run(attack(), timeout=60)
    finally:
        host.close()


async def _granted_with_ticket(host: PtyHost, port: int, code: str,
                               password: str) -> tuple[SecureChannel, bytes, bytes]:  # fmt: skip
    """An agent let in (Question 1, y): its channel, the ticket the host
    sent it and its link's key (what its own viewer keeps to resume)."""
    ch = await _viewer(port, code, password, "agent")
    host.say_yes(1)
    assert await _next_of(ch, m.PermissionGrant) == m.PermissionGrant(VIEW.bits)
    while True:
        msg = await _next_of(ch, m.Extension)
        assert isinstance(msg, m.Extension)
        if msg.channel == RESUME_CHANNEL:
            key = link_key(ch)
            assert key is not None
            return ch, msg.payload, key


async def _take_over(where: tuple[int, str, str], ticket: bytes, key: bytes,
                     level: int) -> SecureChannel:  # fmt: skip
    """The agent's new connection: it presents its ticket with the proof
    of its old link's key (it takes the session over at once, unasked)
    and asks for ``level``."""
    ch = await connect_direct("127.0.0.1", *where)
    proof = prove(key, ticket, ch)
    assert proof is not None
    opening = (m.Capabilities.legacy(), m.Extension(RESUME_CHANNEL, ticket),
               m.Extension(PROOF_CHANNEL, proof), m.PermissionRequest(level, "agent"))  # fmt: skip
    for msg in opening:
        await ch.send(m.encode(msg))
    return ch


@pytest.mark.parametrize("asks", [VIEW.bits, (VIEW | CONTROL).bits], ids=["view", "control"])
def test_a_takeover_while_the_old_connections_question_is_open(
        asks: int, xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The agent, let in, asks for CONTROL (Question 2 on screen), then
    takes its session over on a new connection (its ticket, its old
    link's proof), asking for VIEW, or for VIEW and CONTROL. Expected: the
    new connection goes on with VIEW alone (what the old one held);
    Question 2 closes saying the agent moved to a new connection and they
    get nothing more; the customer's y then is told no question is open;
    and the new connection's own CONTROL request is a question of its own
    (Question 3), answered by its own line."""
    host = PtyHost(*_can_control(xvfb_display, monkeypatch), once=False)
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            old, ticket, key = await _granted_with_ticket(host, port, code, password)
            await old.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            q2 = host.wait_for(_question(2, "'agent'"))
            new = await _take_over((port, code, password), ticket, key, asks)
            try:
                closed = host.wait_for(r"\n\*\*\* Question 2 closed without an answer: the"
                                       r" agent took the session to a new connection; they get"
                                       r" nothing more\.\n", q2.end())  # fmt: skip
                assert await _next_of(new, m.PermissionGrant, m.PermissionDeny) \
                    == m.PermissionGrant(VIEW.bits)  # fmt: skip
                host.type("y")  # meant for Question 2
                host.wait_for(r"\(not sent, and no question is open", closed.end())
                await new.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
                q3 = host.wait_for(_question(3, "'agent'"), closed.end())
                assert "CONTROL your mouse and keyboard" in q3.group(0), q3.group(0)
                host.type("n")
                assert await _next_of(new, m.PermissionGrant, m.PermissionDeny) \
                    == m.PermissionDeny(CONTROL.bits)  # fmt: skip
                host.wait_for(r"\*\*\* Question 3: no\n", q3.end())
                await new.send(m.encode(m.Bye("done")))
                await _drain(new)
            finally:
                await new.close()
                await old.close()

        run(attack(), timeout=60)
        assert "Question 2: yes" not in host.text, host.text
    finally:
        host.close()


def test_ys_typed_as_one_agents_question_closes_and_the_next_shows_answer_nothing() -> None:
    """Alice's question is on screen, Bob's waits its turn; Alice leaves,
    and from the moment her question closes the customer types ``y``
    every 50 ms (a key held, or typed again and again, for her) until
    0.5 s after Bob's question shows. None of them answers Bob's question
    (each came before it showed, or within the 2 s after Alice's closed
    unanswered), and every one gets a reply (ask42: 4 of 14 race runs had
    a y as its question closed answered by nothing at all). Bob gets no
    pixel before his own answer, the customer's n. (Typing began before
    her close in a first version: 1 run of 5, a y answered Alice's
    question before her Bye was read, and a y 1 s after that answer, Bob's
    question shown, was his: the limit test_ask42_questions names.)"""
    host = PtyHost(once=False)
    try:
        port, code, password = _credentials(host)
        typed = 0

        async def attack() -> None:
            nonlocal typed
            alice = await _viewer(port, code, password, "Alice")
            q1 = host.wait_for(_question(1, "'Alice'"))
            bob = await _viewer(port, code, password, "Bob")
            await alice.send(m.encode(m.Bye("bye")))
            host.wait_for(r"\*\*\* Question 1 closed without an answer: the agent left",
                          q1.end())  # fmt: skip
            shown_at = None
            # Bob's shows 1 s after Alice's closed (the hold); up to 2 s after
            # (the settle), a y is taken as meant for hers.
            while shown_at is None or time.monotonic() < shown_at + 0.5:
                host.type("y")
                typed += 1
                await asyncio.sleep(0.05)
                if shown_at is None and "'Bob'" in host.text[q1.end():]:
                    shown_at = time.monotonic()
            await _drain(alice)
            q2 = host.wait_for(_question(2, "'Bob'"), q1.end())
            await asyncio.sleep(TerminalQuestions.SETTLE)
            host.type("n")
            answer = await _next_of(bob, m.PermissionGrant, m.PermissionDeny, m.Update)
            assert answer == m.PermissionDeny(VIEW.bits), answer  # no pixel before it
            host.wait_for(r"\*\*\* Question 2: no\n", q2.end())
            await _drain(bob)

        run(attack(), timeout=60)
        said = host.wait_for(r"nothing was shared\n.*Question 2: no\n").string
        told = _replies(said)
        assert sum(told.values()) == typed, (typed, told, said)
    finally:
        host.close()


def _replies(said: str) -> dict[str, int]:
    """How many typed lines the host's words account for, by how."""
    before = sum(int(n) for n in re.findall(r"\*\*\* (\d+) lines typed before Question \d", said))
    return {
        "answered Question 1": len(re.findall(r"\*\*\* Question 1: (?:yes|no|your yes)", said)),
        "not sent": said.count("(not sent, and no question is open"),
        "answered nothing": said.count("answered nothing (it came after"),
        "typed before (one)": said.count("*** A line typed before Question"),
        "typed before (more)": before,
        "came as it closed": said.count("That y came as question 1 closed"),
    }


def test_a_real_answer_typed_1_1s_after_its_question_shows_is_taken() -> None:
    """Alice leaves unanswered; Bob's question, put at once, shows after
    the hold (1 s); the customer reads it and types y 1.1 s after it
    showed (2.1 s after Alice's closed: past the 2 s settle). Expected:
    taken, Bob let in; not dropped as meant for Alice's."""
    host = PtyHost(once=False)
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            alice = await _viewer(port, code, password, "Alice")
            q1 = host.wait_for(_question(1, "'Alice'"))
            bob = await _viewer(port, code, password, "Bob")
            await alice.send(m.encode(m.Bye("bye")))
            await _drain(alice)
            q2 = host.wait_for(_question(2, "'Bob'"), q1.end())
            await asyncio.sleep(1.1)
            host.type("y")
            answer = await _next_of(bob, m.PermissionGrant, m.PermissionDeny)
            assert answer == m.PermissionGrant(VIEW.bits), (answer, host.text[q2.start():])
            host.wait_for(r"\*\*\* Question 2: yes\n", q2.end())
            assert "That y came" not in host.text[q2.start():], host.text
            await bob.send(m.encode(m.Bye("done")))
            await _drain(bob)

        run(attack(), timeout=60)
    finally:
        host.close()
