"""Key and button presses as one of the X server's own devices ("Xvfb
keyboard", "Xvfb mouse"): the customer's hands, not XTEST's device.

XTEST's FakeInput takes an XInput 1 device event with the id of any device
that has keys (or buttons), and the server processes it as that device's:
its own key state and XKB controls (keyrep45: the customer's keyboard keeps
its auto-repeat while the injector's XTEST keyboard has none). A test's
"local user" pressing through XTEST's own device shared its key state with
the agent: its press of a key the agent held was dropped as a repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any, Protocol, TypeVar

import pytest
from Xlib import X
from Xlib.ext import xinput
from Xlib.protocol import rq

__all__ = ["DeviceInput", "closed_after_test"]


class _Closes(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closes)


def closed_after_test(make: Callable[[str], C], display: str = "display") -> Any:
    """A fixture: ``make(name)`` for each test, ``name`` the value of the
    module's fixture called ``display`` (an X display), closed after the test
    (an X client or the injector on the module's own Xvfb)."""

    def fixture(request: pytest.FixtureRequest) -> Iterator[C]:
        with closing(make(request.getfixturevalue(display))) as made:
            yield made

    return pytest.fixture(fixture)


class _FakeDeviceInput(rq.Request):  # type: ignore[misc]
    # xXTestFakeInputReq: an xEvent after the header, its last byte the device.
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(2), rq.RequestLength(),
                         rq.Card8("event_type"), rq.Card8("detail"), rq.Pad(2),
                         rq.Card32("time"), rq.Card32("root"), rq.Pad(8), rq.Int16("x"),
                         rq.Int16("y"), rq.Pad(7), rq.Card8("deviceid"))  # fmt: skip


class DeviceInput:
    """Presses on ``disp`` as the server's devices named ``keyboard`` and ``mouse``."""

    def __init__(
        self, disp: Any, keyboard: str = "Xvfb keyboard", mouse: str = "Xvfb mouse"
    ) -> None:
        self.disp = disp
        self._op = disp.query_extension("XTEST").major_opcode
        # XInput 1's device events: DeviceKeyPress is the extension's first + 1.
        self._base = disp.query_extension("XInputExtension").first_event
        ids = {str(d.name): int(d.deviceid)
               for d in disp.xinput_query_device(xinput.AllDevices).devices}  # fmt: skip
        self.keyboard, self.mouse = ids[keyboard], ids[mouse]

    def _send(self, kind: int, detail: int, device: int) -> None:
        _FakeDeviceInput(display=self.disp.display, opcode=self._op, event_type=self._base + kind,
                         detail=detail, time=X.CurrentTime, root=0, x=0, y=0,
                         deviceid=device)  # fmt: skip

    def key(self, keycode: int, down: bool) -> None:
        self._send(1 if down else 2, keycode, self.keyboard)

    def button(self, button: int, down: bool) -> None:
        self._send(3 if down else 4, button, self.mouse)
