"""The session commands: ``host``, ``view``, ``relay`` and ``recordings``.

Importing a command's module needs its extra (``main`` falls back to a one-line
explanation per command when it is missing). Each module is imported only when
its command runs: ``screencodec recordings verify`` does not load the session
layer, and ``screencodec --help`` lists the commands from :data:`COMMANDS`
alone. Every handler takes the parsed arguments, runs its own event loop and
returns an exit code; output is line-oriented so it reads fine in a terminal
and in a log.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, NamedTuple

__all__ = ["COMMANDS", "TRANSPORT_MODULES", "Command", "add_subcommands"]

class Command(NamedTuple):
    """A session command: its module (with ``register(subparsers, summary)``),
    the extra it needs (README, "Install") and what ``--help`` says of it."""

    module: str
    extra: str
    summary: str


COMMANDS = {
    "host": Command("screencodec.cli.host", "transport", "share this screen with a support agent"),
    "view": Command("screencodec.cli.view", "transport", "watch a shared screen"),
    "relay": Command("screencodec.cli.relay", "relay", "run a relay for hosts behind NAT"),
    "recordings": Command(
        "screencodec.cli.recordings",
        "record",
        "session recordings: keys, list, verify, prune, export, play",
    ),
}


#: The transport extra's modules, which every session command's extra
#: includes (README, "Install"). The commands' modules import them only when
#: they need them (the transport's names load on first use), so they are
#: looked for first: a missing extra is said before the command starts.
TRANSPORT_MODULES = ("cryptography", "spake2")


def add_subcommands(subparsers: Any, running: str | None = None) -> None:
    """Add the session commands to an argparse subparsers object. ``running``:
    the command being run, the only one whose module is imported and whose
    arguments are defined (the others are named with their help line); None
    defines them all."""
    chosen = [name for name in COMMANDS if running is None or name == running]
    for module in TRANSPORT_MODULES:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    # Imported before any parser is added: a missing extra (ImportError)
    # leaves the subparsers as they were, for main's explanation.
    registers = {name: importlib.import_module(COMMANDS[name].module).register for name in chosen}
    for name, command in COMMANDS.items():
        if name in registers:
            registers[name](subparsers, command.summary)
        else:
            subparsers.add_parser(name, help=command.summary)
