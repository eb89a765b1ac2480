"""Commands typed at a terminal, for the ``host`` and the ``view`` commands
alike: one parser, so the two terminals never disagree on what a line is.

A line whose first non-blank character is ``/`` is a command line:
``/say TEXT`` is a message to the other side, and the host also knows
``/view``, ``/end``, ``/send PATH``, ``/stop [NAME]``, ``/clip [on|off]`` and ``/help``
(:data:`HOST_COMMANDS`), the
agent's terminal ``/send PATH``, ``/monitor N``, ``/clip [show|take]`` and ``/help``
(:data:`VIEW_COMMANDS`). :func:`file_to_send` reads the PATH of a ``/send``.
A command line, known or not, is never the answer to a question: a mistyped
``/veiw`` must not be read as "no" to the question on screen. Every other
line is left to the command (the host's consent answers, for instance).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from screencodec.transport.channel.display import safe_text

__all__ = [
    "HOST_COMMANDS", "SAY", "SAY_PART", "VIEW_COMMANDS", "Command", "command", "file_to_send",
    "help_lines", "said", "say_parts", "stop_names", "unknown",
]  # fmt: skip

#: The command that starts a chat line.
SAY = "/say"

#: The host's commands and what each does, in the order ``/help`` lists them;
#: its ``/help`` ends with Ctrl-C, in words that depend on whether the screen
#: is shared at that moment (cli/host_commands.py ``_Commands._ctrl_c``).
HOST_COMMANDS = (
    ("/say TEXT", "write TEXT to the support agent(s)"),
    ("/view", "take back control of your mouse and keyboard; the agents can still watch"),
    ("/clip [on|off]", "send what is on your clipboard to the agent(s) now; on: send what you"
                       " copy while an agent controls your screen; off: stop (off at start)"),
    ("/end", "end the session: every agent leaves"),
    ("/send PATH", "offer the file PATH to each agent whose program takes files; the agent is"
                   " asked whether to accept it"),
    ("/stop [NAME]", "stop the files being sent (/send) or received, or only those named"
                     " NAME; nothing of them is kept but what had all gone to a viewer"),
    ("/help", "list these commands"),
)

#: The agent's terminal commands (``screencodec view``), as ``/help`` lists them.
VIEW_COMMANDS = (
    ("/say TEXT", "write TEXT to the host's user"),
    ("/send PATH", "offer the file PATH to the host's user, who is asked whether to accept it"),
    ("/stop [NAME]", "stop the files you are sending (/send), or only those named NAME; the"
                     " host keeps none that had not all gone; /stop alone also stops a /type"),
    ("/monitor N", "watch the host's screen N (listed when the host has more than one)"),
    ("/control", "ask the host's user for control of their mouse and keyboard (as view"
                 " --control does; again after they took it back)"),
    ("/type TEXT", "type TEXT on the host's keyboard (you need control: /control)"),
    ("/key NAME", "press a key there: /key Enter, /key Tab, /key Ctrl+C, /key Alt+F4"),
    ("/clip", "put your clipboard on the host's (you need control): Ctrl+V pastes it there;"
              " in a terminal there, Shift+Insert"),
    ("/clip show", "print the clipboard text the host's user sent you last"),
    ("/clip take", "put that text on your own clipboard (never done unless you ask)"),
    ("/help", "list these commands"),
    ("Ctrl-C", "leave the session"),
)


def help_lines(commands: tuple[tuple[str, str], ...]) -> str:
    """What ``/help`` prints: one indented line per command."""
    width = max(len(name) for name, _ in commands)
    return "\n".join(f"  {name:<{width}}  {what}" for name, what in commands)


@dataclass(frozen=True, slots=True)
class Command:
    """A typed command line: ``name`` without its slash, lowercased (``"say"``,
    ``"send"``, or whatever was typed after the slash), and ``arg``, the rest
    of the line with blanks trimmed (``""`` when there is none)."""

    name: str
    arg: str = ""
    #: How many lines the host's terminal had passed on to its questions
    #: before this one (host_terminal; TerminalQuestions.read_up_to).
    after: int = 0


def command(line: str) -> Command | None:
    """The command of a typed ``line``, or None when it is no command line
    (it does not start with ``/``). ``/sayno`` is the command ``sayno``, which
    is neither chat nor an answer."""
    text = line.strip()
    if not text.startswith("/"):
        return None
    name, *rest = text[1:].split(maxsplit=1) or [""]
    return Command(name.lower(), rest[0].strip() if rest else "")


def unknown(typed: Command) -> str:
    """The line that answers a command neither terminal knows."""
    return f"(unknown command /{safe_text(typed.name, 40)}: type /help for the list)"


def said(line: str) -> str | None:
    """The message of a typed ``line``: its text after ``/say`` (``""`` for a
    bare ``/say``, which is still chat, never an answer), or None when the
    line is not chat (``/sayno`` is not)."""
    typed = command(line)
    if typed is None or typed.name != SAY[1:]:
        return None
    return typed.arg


#: The most characters of one chat message: what every side shows whole
#: (the host's and the agent's terminals and the page cut a peer's line
#: there), and at 4 bytes each at most still within the wire's 4096.
SAY_PART = 1000


def say_parts(text: str) -> list[str]:
    """``text`` as the messages it goes in: one, or for a longer line (a
    pasted log) several of :data:`SAY_PART` characters, in order (walk46: a
    10 kB line failed, "text of 10003 bytes exceeds 4096 or holds NUL")."""
    return [text[i : i + SAY_PART] for i in range(0, len(text), SAY_PART)]


def _named(arg: str) -> Path:
    """The path ``arg`` names: as typed when a file is there by that name (a
    plain path with spaces), else read as a shell reads one word (quotes
    around it or its parts, backslash escapes: what a terminal gives for a
    dropped file or a shell's completion writes), ``~`` expanded either way."""
    typed = Path(arg).expanduser()
    try:
        if typed.exists():
            return typed
    except OSError:  # a folder on the way may not be entered: its reason is told
        return typed
    try:
        words = shlex.split(arg)
    except ValueError:  # an unclosed quote, a trailing backslash: as typed
        return typed
    return Path(words[0]).expanduser() if len(words) == 1 else typed


def _folder_words(path: Path) -> str:
    """What ``/send FOLDER`` is answered (walk41: ``not a file``, which did
    not say what to do). A file goes in one offer, asked about alone; a
    folder's files would each be a question to the other side, so the
    words say how to make it one file (the command as a shell takes it)."""
    shown = safe_text(path, 300)
    each = f"send each of its files (/send {shown.rstrip('/')}/NAME)"
    name = path.resolve().name
    if not name:  # the root: no archive of it to suggest
        return f"(not sent: {shown} is a folder, and /send sends one file: {each})"
    # "--": a name that starts with a dash is the folder, not options of
    # tar's (review41a: "-notes" made no archive; "--use-compress-program=
    # ..." would be run). f takes the archive's name whatever it starts with.
    tar = (f"tar czf {shlex.quote(safe_text(name + '.tar.gz', 100))}"
           f" -C {shlex.quote(safe_text(path.resolve().parent, 300))}"
           f" -- {shlex.quote(safe_text(name, 100))}")  # fmt: skip
    return (f"(not sent: {shown} is a folder, and /send sends one file: {each}, or put"
            f" them in one archive and send that: {tar})")


def stop_names(wanted: str, name: str) -> bool:
    """Whether ``/stop NAME`` (``wanted``, stripped; empty: every file)
    names the file ``name``: as it is, or as the file a path names. The
    host's and the view's ``/stop`` (walk41: the host's test was the other
    way round, ``wanted in (name, ...)``, and /stop x stopped every file)."""
    return not wanted or name in (wanted, Path(wanted).name)


def file_to_send(arg: str) -> Path | str:
    """The file the PATH of a ``/send PATH`` line names (:func:`_named`: as
    typed if it exists, else with a shell's quotes and backslash escapes taken
    off; ``~`` expanded), or, when there
    is none that can be sent, the line that says why in words: no PATH, no
    such file, not a file, or not readable (with the system's reason)."""
    if not arg.strip():
        return "(usage: /send PATH)"
    path = _named(arg.strip())
    shown = safe_text(path, 300)
    try:
        if path.is_dir():
            return _folder_words(path)
        if not path.is_file():
            return f"(not sent: {shown}: {'not a file' if path.exists() else 'no such file'})"
        with path.open("rb"):
            pass
    except OSError as exc:  # permission denied (the file's, or a folder's on the way)
        return f"(not sent: {shown}: {(exc.strerror or str(exc)).lower()})"
    return path
