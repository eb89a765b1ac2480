"""The local user's keys and clicks on X11: remote input pauses while they type.

The pointer watcher (``xtest.LocalPointerWatcher``) sees a hand on the mouse
only when the pointer moves; a customer who types into a password field, or
clicks without moving, while the agent is typing, was not seen, and both
streams of keys went into the same window. :class:`LocalPressWatcher` reads
the X server's *raw* key and button presses (XInput 2.2, selected on the root
window: every press of every device, whatever window has the focus or holds
a grab, without the keys' meaning) and calls back for each one the injector
did not make (``XTestInjector.claims_press``: each press the injector made
explains one report). So the local user pressing the same key as the agent is
seen too, and so is input from any other source, another XTEST client
included: anything that is not the agent is the local user.

Held keys repeat without new raw presses (the server's autorepeat is not a
device event; a report flagged as a repeat is ignored all the same), so the
customer holding a key is one press. The agent's keys get no server repeat
(keyrep45): its own keyboard's repeats come as presses the injector makes
and claims, so an agent holding a key is never taken for the local user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from screencodec.errors import CaptureError
from screencodec.transport.input.xdisplay import _open_display
from screencodec.transport.input.xtest import PollingWatcher, XTestInjector

__all__ = ["LocalPressWatcher"]

#: XIKeyRepeat in a device event's flags (XI2proto).
_KEY_REPEAT = 1 << 16


class LocalPressWatcher(PollingWatcher):
    """Read the raw presses every ``period`` s; for a read that held presses
    ``injector`` did not make, call ``on_local`` with "keyboard" (keys among
    them) or "pointer" (buttons among them), once for each: the device a
    host's ``local_input_activity`` and a recording's audit log name.

    Run with ``task = asyncio.create_task(watcher.run())``; cancel to stop.
    CaptureError at construction when the display cannot be opened or has
    no XInput 2.2 (a host then has the pointer watcher alone).
    """

    def __init__(
        self,
        on_local: Callable[[str], None],
        injector: XTestInjector,
        display: str | None = None,
        period: float = 0.05,
    ) -> None:
        from Xlib.ext import xinput
        from Xlib.protocol import rq

        self._on_local = on_local
        self._injector = injector
        self._period = period
        self._disp: Any = _open_display(display)
        try:
            info = self._disp.query_extension("XInputExtension")
            if info is None or not info.present:
                raise CaptureError("the X server has no XInput extension")
            # Announce 2.2: raw events then reach the root window during grabs too.
            version = xinput.XIQueryVersion(
                display=self._disp.display, opcode=info.major_opcode,
                major_version=2, minor_version=2,
            )  # fmt: skip
            if (version.major_version, version.minor_version) < (2, 2):
                raise CaptureError(
                    f"the X server has XInput {version.major_version}.{version.minor_version}, "
                    "not 2.2"
                )
            # python-xlib does not parse raw events: their fixed part (XI2proto
            # RawEvent), without the valuators after it.
            raw = rq.Struct(
                rq.Card16("deviceid"), rq.Card32("time"), rq.Card32("detail"),
                rq.Card16("sourceid"), rq.Card16("valuators_len"), rq.Card32("flags"),
                rq.Pad(4),
            )  # fmt: skip
            self._opcode = info.major_opcode
            self._kinds = {xinput.RawKeyPress: "key", xinput.RawButtonPress: "button"}
            for evtype in self._kinds:
                self._disp.ge_add_event_data(info.major_opcode, evtype, raw)
            # Master devices: one report per press, its source device in sourceid.
            self._disp.screen().root.xinput_select_events(
                [(xinput.AllMasterDevices, xinput.RawKeyPressMask | xinput.RawButtonPressMask)]
            )
            self._disp.sync()
        except CaptureError:
            self._disp.close()
            raise
        except Exception as exc:  # an X error from the requests above
            self._disp.close()
            raise CaptureError(f"cannot watch the local user's keys: {exc}") from exc
        #: presses seen, and those the injector did not make
        self.presses = 0
        self.local_presses = 0
        self._last_read: float | None = None  # monotonic time of the last poll

    def _read(self) -> list[str]:
        return self.poll()

    def _seen(self, read: list[str]) -> None:
        for device in read:
            self._on_local(device)

    def poll(self) -> list[str]:
        """Read the reports that arrived; the devices ("keyboard", "pointer")
        of those that were the local user's."""
        local: set[str] = set()
        disp = self._disp
        if disp is None:
            return []
        now = time.monotonic()
        read_before, self._last_read = self._last_read, now
        while disp.pending_events():
            ev: Any = disp.next_event()
            if getattr(ev, "extension", None) != self._opcode:
                continue  # MappingNotify, which every client gets
            kind = self._kinds.get(getattr(ev, "evtype", -1))
            data = getattr(ev, "data", None)
            if kind is None or data is None or data["flags"] & _KEY_REPEAT:
                continue
            self.presses += 1
            if not self._injector.claims_press(kind, int(data["detail"]), read_before):
                self.local_presses += 1
                local.add("keyboard" if kind == "key" else "pointer")
        return sorted(local)
