"""walk45 (walk44's leftover): through one relay every agent has one address;
Alice's link was lost and she came back on a new link (the host numbers it
``ADDR #2`` and shows it ``ADDR, reconnected``). Bob then asked, and the
customer read ``'Bob' (relay H:P viewer 127.0.0.1 #3) asks to SEE your
screen``: a third agent, though no second was ever shown. The terminal now
numbers an agent by the names it has shown: Bob is ``ADDR #2``.

Real relay, host on a pseudo-terminal, two view processes on loopback; Alice's
way to the relay through a proxy that resets it."""

from __future__ import annotations

import signal
from typing import Any

from .test_resume_cli import _ProxyThread
from .test_view_cli_ux import read_until, start_relay, stop, viewer
from .test_walk44_back_not_second import _RelayHost


class _AliceBack:
    """A relay, the host on a pty, Alice let in through a proxy that cuts her
    link and back in the session (the host numbers her new link ``ADDR #2``,
    shown ``ADDR, reconnected``), then Bob dialling the relay directly: the
    opening of both tests. Everything started is stopped at the end."""

    def __init__(self) -> None:
        self.relay, port = start_relay()
        self.where = f"127.0.0.1:{port}"
        self.addr = rf"relay {self.where} viewer 127\.0\.0\.1"
        self.host = _RelayHost(self.where, once=False)
        self.proxy = _ProxyThread(port)
        self.views: list[Any] = []

    def __enter__(self) -> _AliceBack:
        try:
            found = self.host.wait_for(r"Session code: ([\d ]+)\n\s*Password:\s+(\S+)\n")
            self.code, self.password = found.group(1).strip(), found.group(2)
            alice = self.agent("Alice", f"127.0.0.1:{self.proxy.port}")
            self.host.say_yes(1)
            read_until(alice, "decoded")
            self.proxy.cut()
            read_until(alice, "back in the session")
            self.back = self.host.wait_for(r"\n[^\n]* is back")
            self.bob = self.agent("Bob")
        except BaseException:
            self.__exit__()
            raise
        return self

    def agent(self, name: str, where: str | None = None) -> Any:
        view = viewer("--relay", where or self.where, "--code", self.code,
                      "--password", self.password, "--name", name)  # fmt: skip
        self.views.append(view)
        return view

    def __exit__(self, *_: object) -> None:
        for view in self.views:
            stop(view)
        self.proxy.close()
        self.host.close()
        stop(self.relay)


def test_walk45_an_agent_after_one_who_came_back_is_the_second_not_the_third() -> None:
    with _AliceBack() as w:
        host, where, addr, bob = w.host, w.where, w.addr, w.bob
        asked = host.wait_for(r"\n([^\n]*) asks to SEE your screen", w.back.end())
        assert asked.group(1).endswith(f"'Bob' (relay {where} viewer 127.0.0.1 #2)"), host.text
        host.wait_for(r"Question 2: .*?\[y/N\] ")
        host.type("y")
        read_until(bob, "decoded")
        # Every line after it names him so: the status line too.
        host.wait_for(rf"\[shared\] {addr} #2: ", asked.end())
        bob.send_signal(signal.SIGINT)
        bob.communicate(timeout=30)
        host.wait_for(rf"session with 'Bob' \({addr} #2\) ended", asked.end())
        assert "#3" not in host.text, host.text


def test_walk45_an_agent_who_left_while_waiting_is_named_as_the_terminal_numbered_them() -> None:
    """Alice back (``ADDR #2``, shown ``ADDR, reconnected``), Bob asked
    (``ADDR #3``, shown ``#2``), Carol's request waiting behind his
    (``ADDR #4``, shown ``#3``) and Carol gone before her turn: the line of
    her leaving names her ``#3`` as the waiting line did (a check: the
    waiting line's numbering is kept for her), and by her name (words45)."""
    with _AliceBack() as w:
        host, addr = w.host, w.addr
        asked = host.wait_for(rf"'Bob' \({addr} #2\) asks to SEE", w.back.end())
        carol = w.agent("Carol")
        waits = host.wait_for(rf"\(also waiting: 'Carol' \({addr} #3\) asks", asked.end())
        carol.send_signal(signal.SIGINT)
        carol.communicate(timeout=30)
        host.type("y")  # Bob's question; Carol's turn comes after it
        host.wait_for(r"\*\*\* Question 2: yes\n", waits.end())
        # Named as the waiting line named her (words45: it said 'ADDR #3' alone).
        host.wait_for(rf"\n'Carol' \({addr} #3\): the agent left before you were asked;",
                      waits.end())  # fmt: skip
        assert "#4" not in host.text, host.text
