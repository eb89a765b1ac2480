"""Motion: scrolls and moved windows found from pixels alone, sent as COPY ops;
and the cursor channel, which keeps the pointer out of the pixels.

:class:`MotionStage` is the encoder's pipeline stage (``ScreenEncoder(motion=True)``);
:class:`CursorEncoder` turns a source's :class:`~screencodec.capture.base.CursorState`
into CURSOR_SHAPE / CURSOR_POSITION messages. The kernels are C
(csrc/motion.c) and run without the GIL; ``reference`` holds their NumPy twins.
"""

from __future__ import annotations

from .cursor import CursorEncoder, cursor_shape_id
from .detect import MotionStage, MotionStats

__all__ = ["CursorEncoder", "MotionStage", "MotionStats", "cursor_shape_id"]
