"""walk35: while the link was down and ``view`` reconnecting, it printed
``[view] 800x600 decoded 28: 6 fps rtt 4 ms 1 kbit/s`` right after "the
connection was lost; reconnecting..." and "still reconnecting": the lost
link's figures, a change held back by the status line's gap, read as a
live picture. Expected: no ``[view]`` line while reconnecting; the change
is printed once back. (The gap's timing made it rare in a real run: this
drives the ticker's function with the lost viewer's state.)"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from screencodec.cli.terminal import StatusLines
from screencodec.cli.view import _status


class _Tty:
    def isatty(self) -> bool:
        return True


def test_no_view_status_line_while_reconnecting() -> None:
    viewer = SimpleNamespace(framebuffer=np.zeros((600, 800, 4), np.uint8), decoded=28,
                             decode_errors=0, host_stats=None, input_ignored=None)  # fmt: skip
    status = StatusLines(_Tty())  # type: ignore[arg-type]
    assert _status(viewer, status, 0.0) == "[view] 800x600 decoded 28"  # type: ignore[arg-type]
    # The host's figures came just before the link was lost (within the gap).
    viewer.host_stats = SimpleNamespace(fps_milli=6000, kbps=1, rtt_us=4000)
    assert _status(viewer, status, 1.0) is None  # type: ignore[arg-type]
    # Past the gap, the link down: nothing that looks live.
    assert _status(viewer, status, 6.0, away=True) is None  # type: ignore[arg-type]
    back = _status(viewer, status, 7.0)  # type: ignore[arg-type]
    assert back is not None and back.startswith("[view] 800x600 decoded 28: 6 fps"), back
