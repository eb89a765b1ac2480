"""File transfer between host and viewer, only with the receiving user's
consent (docs/transport.md, "Files"). One concern a module, imported one
way, each only from those listed before it:

- :mod:`.wire`: the reserved channel's payloads, reason codes and words;
- :mod:`.disk`: the disk thread and the calls that may wait on a disk;
- :mod:`.names`: a received file's temporary name, its own name, the marks
  of a whole file on FAT, the tidy of what was left;
- :mod:`.incoming`: one file being received, on the thread that writes it;
- :mod:`.offers`: what the receiving user is asked, and until when;
- :mod:`.receiver`: :class:`~.receiver.FileReceiver`;
- :mod:`.sender`: :class:`~.sender.FileSender`.

:mod:`screencodec.transport.session.sidechannels` hands their public names
on, with the dispatch of the reserved channel's messages.
"""
