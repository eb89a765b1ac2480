"""The X connection of the XTEST injector and its watchers (:mod:`.xtest`):
opened with XTEST checked, closed whatever the server's state, and how long
the server is given to answer.
"""

from __future__ import annotations

import os
from typing import Any

from screencodec.capture.x11wire import close_display, close_sockets_left
from screencodec.errors import CaptureError

__all__ = ["ANSWER_WITHIN"]

#: How long the X server is given to answer (s): one poll of a watcher, the
#: injector's :meth:`~XTestInjector.close`; then the server is taken for
#: gone (stopped, hung, or far away and cut off). The test suite shortens it
#: for the host it starts with $SCREENCODEC_TEST_X_ANSWER_WITHIN (tests only).
ANSWER_WITHIN = float(os.environ.get("SCREENCODEC_TEST_X_ANSWER_WITHIN", "10"))
#: How long ``close`` waits for the worker once it cut a silent server's
#: connection (the worker then fails each action left at once).
_CUT_TIMEOUT = 5.0


def _open_display(name: str | None) -> Any:
    try:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError
    except ImportError as exc:  # pragma: no cover - declared in the x11 extra
        raise CaptureError("python-xlib is not installed (pip install screencodec[x11])") from exc
    try:
        disp = xdisplay.Display(name)
    except (DisplayError, OSError) as exc:
        close_sockets_left(exc)  # python-xlib leaves them open (ends53)
        raise CaptureError(f"cannot open X display {name!r}: {exc}") from exc
    if not disp.has_extension("XTEST"):
        disp.close()
        raise CaptureError("the X server has no XTEST extension")
    return disp


#: Close an X connection whatever the server's state, quietly (None:
#: nothing to do): one way for every connection, the capture side's.
_close_display = close_display
