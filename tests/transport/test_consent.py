"""The question queue, the terminal questions and safe_text, on their own."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.consent import (
    QuestionQueue,
    TerminalQuestions,
    ask_file,
    ask_permission,
)
from screencodec.transport.session.permissions import CONTROL, VIEW, ConsentRequest, Grant
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("alice", "alice"),
        ("\x1b]0;title\x07bob", "?bob"),  # OSC: the whole sequence, payload too
        ("\x1b[8mhidden", "?hidden"),  # SGR conceal
        ("\x1b[2J\x1b[H", "??"),
        ("\x1bc", "?"),  # full reset
        ("\x9b31mred", "?red"),  # 8-bit CSI
        ("\x90qpayload\x9c", "?"),  # 8-bit DCS
        ("a\u202eevil\u2066x\u2069", "a?evil?x?"),  # bidi override and isolate
        ("zero\u200bwidth", "zero?width"),
        ("line1\nline2\r\n\tline3", "line1 line2 line3"),
        ("nul\x00del\x7f", "nul?del?"),
        ("caf\u00e9 \u4e2d\u6587", "caf\u00e9 \u4e2d\u6587"),  # printable text stays
    ],
)
def test_safe_text(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_safe_text_bounds_the_length_and_the_work() -> None:
    assert safe_text("x" * 10_000, 20) == "x" * 17 + "..."
    assert len(safe_text("\x1b[" * 100_000)) <= 120


def test_questions_are_asked_one_at_a_time_in_order_and_numbered() -> None:
    async def main() -> None:
        queue = QuestionQueue()
        open_now: list[int] = []
        seen: list[tuple[str, int]] = []
        gates = {n: asyncio.Event() for n in ("consent", "file", "upgrade")}

        async def permission(req: ConsentRequest) -> Grant:
            open_now.append(req.question)
            assert len(open_now) == 1  # nothing else is open
            seen.append(("upgrade" if req.upgrade else "consent", req.question))
            await gates["upgrade" if req.upgrade else "consent"].wait()
            open_now.remove(req.question)
            return Grant(req.level)

        async def file(info: FileOfferInfo) -> bool:
            open_now.append(info.question)
            assert len(open_now) == 1
            seen.append(("file", info.question))
            await gates["file"].wait()
            open_now.remove(info.question)
            return True

        a, b = object(), object()
        assert queue.reserve(a) and queue.reserve(b) and queue.reserve(a)
        asks = [
            asyncio.ensure_future(ask_permission(queue, a, permission,
                                                 ConsentRequest("x", "p", VIEW), 5)),
            asyncio.ensure_future(ask_file(queue, b, file, FileOfferInfo("p", "f", 1), 5)),
            asyncio.ensure_future(ask_permission(queue, a, permission,
                                                 ConsentRequest("x", "p", CONTROL, True), 5)),
        ]
        for name in ("file", "upgrade", "consent"):  # released out of order
            gates[name].set()
        answers = await asyncio.gather(*asks)
        assert seen == [("consent", 1), ("file", 2), ("upgrade", 3)]
        assert answers[0].value == Grant(VIEW) and answers[1].value is True
        assert answers[2].value == Grant(CONTROL)
        assert queue.asking == 0

    run(main())


def test_a_viewer_may_hold_only_a_few_questions() -> None:
    queue = QuestionQueue(max_per_asker=3)
    viewer, other = object(), object()
    assert [queue.reserve(viewer) for _ in range(4)] == [True, True, True, False]
    assert queue.reserve(other)
    assert queue.refused == 1


def test_no_answer_is_no_and_the_answer_is_typed() -> None:
    async def main() -> None:
        queue = QuestionQueue()

        async def silent(req: ConsentRequest) -> Grant:
            await asyncio.Event().wait()
            return Grant(req.level)

        async def truthy(info: FileOfferInfo) -> bool:
            return 1  # type: ignore[return-value]  # not True: not a yes

        async def greedy(req: ConsentRequest) -> Grant:
            return Grant(VIEW | CONTROL)

        assert queue.reserve(1) and queue.reserve(1) and queue.reserve(1)
        late = await ask_permission(queue, 1, silent, ConsentRequest("x", "p", VIEW), 0.05)
        assert late.timed_out and not late.value.granted
        assert (await ask_file(queue, 1, truthy, FileOfferInfo("p", "f", 1), 1)).value is False
        wide = await ask_permission(queue, 1, greedy, ConsentRequest("x", "p", VIEW), 1)
        assert wide.value == Grant(VIEW)  # never more than was asked

    run(main())


class _Lines(io.StringIO):
    """stdin whose lines arrive when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: list[str] = []
        self._cond = threading.Condition()

    def feed(self, line: str) -> None:
        with self._cond:
            self._lines.append(line)
            self._cond.notify()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        with self._cond:
            self._cond.wait_for(lambda: bool(self._lines))
            return self._lines.pop(0)


def test_terminal_questions_hold_other_output_and_drop_status_lines() -> None:
    async def main() -> None:
        stdin, out = _Lines(), io.StringIO()
        ui = TerminalQuestions(stdin, out)
        ui.say("before")
        asking = asyncio.ensure_future(
            ui.permission(ConsentRequest("agent", "1.2.3.4:5", CONTROL, True, 7)))
        while "[y/N] " not in out.getvalue():
            await asyncio.sleep(0.005)
        ui.say("[shared] 30 fps", status=True)
        ui.say("session with x ended")
        prompt_end = out.getvalue()
        assert prompt_end.endswith("[y/N] ")  # nothing printed over the question
        assert "Question 7: MORE ACCESS" in prompt_end
        assert "y = let them CONTROL your mouse and keyboard, nothing more" in prompt_end
        stdin.feed("y\n")
        assert await asyncio.wait_for(asking, 5) == Grant(CONTROL)
        after = out.getvalue()[len(prompt_end):]
        assert "session with x ended" in after and "[shared]" not in after
        ui.say("[shared] 30 fps", status=True)
        assert out.getvalue().endswith("[shared] 30 fps\n")

    run(main())
