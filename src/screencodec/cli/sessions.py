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

import argparse
import importlib
import importlib.util
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["COMMANDS", "TRANSPORT_MODULES", "Command", "add_subcommands", "needs_extra"]

class Command(NamedTuple):
    """A session command: its module (with ``register(subparsers, summary)``),
    the extra it needs (README, "Install") and what ``--help`` says of it.
    ``runs``, ``"module:function"``: where the command runs when its module
    defines only its arguments; imported once the words are parsed
    (``host --help`` and ``view --help`` loaded the session layer: 0.5 s of
    CPU, most of their start)."""

    module: str
    extra: str
    summary: str
    runs: str = ""


COMMANDS = {
    "host": Command("screencodec.cli.host_args", "transport",
                    "share this screen with a support agent",
                    "screencodec.cli.host:run_host"),
    "view": Command("screencodec.cli.view_args", "transport", "watch a shared screen",
                    "screencodec.cli.view:run_view"),
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


def needs_extra(what: str, extra: str, module: str) -> str:
    """The one line for a missing extra, whether a command's or an option's
    (``what``: "screencodec host:", "screencodec view: --web"): tail39, each
    option had its own words ("--web needs the web extra: ...")."""
    top = module.partition(".")[0]  # "redis.asyncio": the package to install is redis
    return (f"{what} needs the '{extra}' extra (missing module {top!r}):"
            f" pip install 'screencodec[{extra}]'")  # fmt: skip


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
            if command.runs:
                subparsers.choices[name].set_defaults(func=_run(command.runs))
        else:
            subparsers.add_parser(name, help=command.summary)


def _run(runs: str) -> Callable[[argparse.Namespace], int]:
    """The handler of a command that runs from ``runs`` (``"module:function"``),
    its module imported when it is called."""

    def run(args: argparse.Namespace) -> int:
        module, _, function = runs.partition(":")
        handler: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(module), function)
        return handler(args)

    return run
