"""The X connection of the XTEST injector and its watchers (:mod:`.xtest`):
opened with XTEST checked, closed whatever the server's state, and how long
the server is given to answer.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

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
        from screencodec.capture.x11wire import close_sockets_left

        close_sockets_left(exc)  # python-xlib leaves them open (ends53)
        raise CaptureError(f"cannot open X display {name!r}: {exc}") from exc
    if not disp.has_extension("XTEST"):
        disp.close()
        raise CaptureError("the X server has no XTEST extension")
    return disp


def _close_display(disp: Any) -> None:
    """Close an X connection whatever the server's state (None: nothing to
    do): quiet, and its socket is released even when Xlib's close fails.

    A connection that already failed is not closed through Xlib: its close
    would raise the stored error again, the very object that the read which
    met it raised, and add this close's frames to that error's traceback."""
    if disp is None:
        return
    from Xlib.error import ConnectionClosedError, XError

    conn = getattr(disp, "display", None)  # Xlib's protocol connection
    try:
        if getattr(conn, "socket_error", None) is None:
            with contextlib.suppress(ConnectionClosedError, XError, OSError):
                disp.close()  # a server gone unnoticed: the flush before the close fails
    finally:
        sock = getattr(conn, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()  # idempotent
