"""The session layer, above a :class:`~screencodec.transport.channel.Channel`:
the host (``host``; one ``link`` per viewer with its ``streaming`` send loop,
``flow`` control, ``input_gate`` and ``pointer``), the viewer (``viewer``),
the session ``messages``, consent and ``permissions``, ``events``, and the
side channels (chat, files, extensions). It knows nothing of sockets or keys."""
