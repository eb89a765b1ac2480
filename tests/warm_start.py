"""A warm starter for the ``python -m screencodec`` processes the tests start
(warm51): :func:`warm_popen` is :class:`subprocess.Popen` for them, but the
process is forked from a *zygote* that has already imported what the commands
import, instead of a fresh interpreter importing it all again. A host to its
password line: 0.265 s of CPU by exec, 0.035 s forked (the lead's measure,
stop 51); the suite starts about a thousand of them on two cores.

One zygote a test process (each xdist worker), started on first use with
the process's environment (less what varies from test to test), ended when
the process ends (EOF on its socket, or its parent gone). It imports
``screencodec.cli.main``, each session command's modules and NumPy with the
collector off, then freezes them (as main does as the program), and from
then on runs no thread: a request over its Unix socket (argv, env, cwd,
process group; the child's fds 0/1/2 and a reply socket passed with
SCM_RIGHTS) is forked at once; the zygote closes its copies of the fds (or
a pty would never read EOF), reaps its children (SIGCHLD wakes its poll)
and sends each one's wait status on that child's reply socket.

The child then does what a fresh ``python -m screencodec ARGS`` does, as
far as a program can see: its own process group when asked, the fds on
0/1/2 and sys.std* made as Python's start-up makes them for that env
(PYTHONUNBUFFERED, a tty), the env, cwd and argv, the signals as a fresh
interpreter has them, the warnings filters of the env's PYTHONWARNINGS;
then ``screencodec`` runs as ``__main__`` and ends as the interpreter
ends (SystemExit, an uncaught exception's traceback and 1, KeyboardInterrupt
by SIGINT, threads joined, atexit, stdio flushed).

A request that is not plainly the same takes a real exec (:func:`_warm_refusal`
says why): other arguments, another ``PYTHON*`` variable (a PYTHONPATH of
fakes), a variable a module read at import with another value, a locale or
C library setting. ``SCREENCODEC_TESTS_EXEC=1`` runs every start the old way.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
import types
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["WarmPopen", "warm_popen", "warm_refusal", "warm_run"]

CLI_PREFIX = ["-m", "screencodec"]
#: The PYTHON* variables a warm child applies itself (the rest: exec).
APPLIED = frozenset({"PYTHONUNBUFFERED", "PYTHONWARNINGS"})
#: Read by C code at start-up or import (locale, time zone, the loader,
#: OpenBLAS, NumPy), not through os.environ: any difference takes an exec.
C_READ_PREFIXES = ("PYTHON", "LC_", "LANG", "TZ", "LD_", "OPENBLAS_", "OMP_", "GOTO",
                   "MKL_", "NPY_", "NUMPY_", "MALLOC_", "GLIBC_")  # fmt: skip
#: Not given to the zygote: what tests set for one host (SCREENCODEC_TEST_*
#: limits read at import) would make every later start without it an exec.
ZYGOTE_DROPS = ("SCREENCODEC_", "PYTHONUNBUFFERED", "PYTHONWARNINGS")
_MAX_REQUEST = 1 << 20


# --- the requester's side (the test process) ---------------------------------


class _Zygote:
    """The test process's zygote: its process, socket and what it imported."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if not k.startswith(ZYGOTE_DROPS)}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        theirs.close()
        self.sock = ours
        ours.settimeout(120)  # its imports, on a loaded machine
        profile = json.loads(ours.recv(_MAX_REQUEST) or b"{}")
        ours.settimeout(None)
        self.env: dict[str, str] = profile.get("env", {})
        self.read: set[str] = set(profile.get("read", ()))
        self.commands: set[str] = set(profile.get("commands", ()))
        self.problem: str = profile.get("problem", "" if profile else "no profile")
        self.limits: list[list[int]] = profile.get("limits", [])
        self.lock = threading.Lock()

    def refusal(self, argv: Sequence[str], env: Mapping[str, str]) -> str:
        """Why ``argv`` with ``env`` cannot be forked here ("" when it can)."""
        if self.problem:
            return f"the zygote: {self.problem}"
        if list(argv[:3]) != [sys.executable, *CLI_PREFIX] or len(argv) < 4:
            return "not python -m screencodec COMMAND"
        if argv[3] not in self.commands:
            return f"command {argv[3]!r} not imported by the zygote"
        if _limits() != self.limits:  # a test's setrlimit: an exec inherits it
            return "resource limits differ"
        for key in set(env) | set(self.env):
            if key in APPLIED:
                continue
            theirs, ours = env.get(key), self.env.get(key)
            if key == "OPENBLAS_NUM_THREADS":  # main sets it so when unset
                theirs = "1" if theirs is None else theirs
            if theirs != ours and (key.startswith(C_READ_PREFIXES) or key in self.read):
                return f"{key} differs ({theirs!r}, the zygote's {ours!r})"
        return ""

    def close(self) -> None:
        self.sock.close()  # its EOF ends the zygote
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


#: This process's zygote, once started.
_zygotes: list[_Zygote] = []
_zygote_lock = threading.Lock()


def _the_zygote() -> _Zygote:
    with _zygote_lock:
        if not _zygotes:
            _zygotes.append(_Zygote())
            atexit.register(_zygotes[0].close)
        return _zygotes[0]


def exec_only() -> bool:
    """``SCREENCODEC_TESTS_EXEC=1``: every start a real exec, as before warm51."""
    return os.environ.get("SCREENCODEC_TESTS_EXEC", "") == "1"


def warm_refusal(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """Why :func:`warm_popen` would exec ``argv`` ("" when it forks it warm)."""
    if exec_only():
        return "SCREENCODEC_TESTS_EXEC=1"
    return _the_zygote().refusal(argv, os.environ if env is None else env)


def _limits() -> list[list[int]]:
    """This process's resource limits (soft, hard), as JSON has them."""
    import resource

    return [list(resource.getrlimit(getattr(resource, name))) for name in sorted(dir(resource))
            if name.startswith("RLIMIT_")]  # fmt: skip


def _umask() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


class WarmPopen(subprocess.Popen):  # type: ignore[type-arg]
    """:class:`subprocess.Popen` whose child is forked by the zygote when the
    request is plainly a ``python -m screencodec`` start (else a real exec,
    :attr:`refusal` says why). Everything but the start, the wait and the
    poll is Popen's own (pipes, text mode, communicate, signals)."""

    #: The reply socket's fd while the zygote has a status to send (-1: an exec).
    _reply = -1
    refusal = "not started"

    def _execute_child(  # noqa: PLR0917 (Popen's own signature)
                       self, args: Any, executable: Any, preexec_fn: Any, close_fds: bool,
                       pass_fds: Sequence[int], cwd: Any, env: Any, startupinfo: Any,
                       creationflags: int, shell: bool, p2cread: int, p2cwrite: int,
                       c2pread: int, c2pwrite: int, errread: int, errwrite: int,
                       restore_signals: bool, gid: Any, gids: Any, uid: Any, umask: int,
                       start_new_session: bool, process_group: int) -> None:  # fmt: skip
        plain = (isinstance(args, list) and all(isinstance(a, str) for a in args)
                 and executable is None and preexec_fn is None and close_fds
                 and not pass_fds and not shell and restore_signals and gid is None
                 and gids is None and uid is None and umask < 0
                 and not start_new_session and process_group in (-1, 0))  # fmt: skip
        self.refusal = "Popen options" if not plain else warm_refusal(args, env)
        if not self.refusal:
            self.refusal = self._fork(args, cwd, env, process_group == 0,
                                      (p2cread, c2pwrite, errwrite))  # fmt: skip
        if not self.refusal:
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
            return
        super()._execute_child(  # type: ignore[misc]
            args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
            creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
            restore_signals, gid, gids, uid, umask, start_new_session, process_group)

    def _fork(self, args: list[str], cwd: Any, env: Mapping[str, str] | None,
              own_group: bool, fds: tuple[int, int, int]) -> str:  # fmt: skip
        """Ask the zygote for the child: "" once it runs, else why not."""
        zygote = _the_zygote()
        ignored = [int(s) for s in signal.valid_signals()
                   if s not in (signal.SIGKILL, signal.SIGSTOP)
                   and signal.getsignal(s) == signal.SIG_IGN]  # fmt: skip
        request = json.dumps({
            "argv": args[3:],
            "env": dict(os.environ if env is None else env),
            "cwd": os.path.abspath(os.fspath(cwd)) if cwd is not None else os.getcwd(),
            "own_group": own_group, "ignored": ignored, "umask": _umask(),
        }).encode()  # fmt: skip
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with ours, theirs:
            passed = [fd if fd != -1 else n for n, fd in enumerate(fds)]
            try:
                with zygote.lock:
                    socket.send_fds(zygote.sock, [request], [*passed, theirs.fileno()])
            except OSError as exc:
                return f"the request not sent: {exc}"
            theirs.close()  # the zygote's copy is the one the child leaves to it
            ours.settimeout(60)  # a zygote that hangs: an exec, not a hung test
            try:
                answer = ours.recv(_MAX_REQUEST).decode()
            except TimeoutError:
                return "the zygote did not answer"
            ours.settimeout(None)
            if not answer.startswith("P"):
                return f"the zygote did not fork: {answer[1:] or 'gone'}"
            self.pid = int(answer[1:])
            self._child_created = True
            self._reply = ours.detach()
        return ""

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:
        """The child's wait status, from the zygote that reaped it ((0, 0):
        not yet, with WNOHANG). The caller holds _waitpid_lock."""
        if self._reply == -1:
            return super()._try_wait(wait_flags)  # type: ignore[misc, no-any-return]
        if wait_flags & os.WNOHANG:
            poller = select.poll()
            poller.register(self._reply, select.POLLIN)
            if not poller.poll(0):
                return 0, 0
        answer = os.read(self._reply, 64).decode()
        os.close(self._reply)
        self._reply = -1
        # The zygote gone before it: unknown, as Popen says of a child it
        # could not wait for (ChildProcessError).
        return self.pid, int(answer[1:]) if answer.startswith("S") else 0

    def _internal_poll(self, _deadstate: int | None = None, **_: Any) -> int | None:
        if self._reply == -1 or self.returncode is not None:
            return super()._internal_poll(_deadstate)  # type: ignore[misc, no-any-return]
        if not self._waitpid_lock.acquire(False):  # type: ignore[attr-defined]
            return None
        try:
            if self.returncode is None:
                pid, sts = self._try_wait(os.WNOHANG)
                if pid == self.pid:
                    self._handle_exitstatus(sts)  # type: ignore[attr-defined]
        except OSError:
            if _deadstate is not None:
                self.returncode = _deadstate
        finally:
            self._waitpid_lock.release()  # type: ignore[attr-defined]
        return self.returncode


def warm_popen(argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **popen_kwargs)``, forked warm when it is a
    plain ``python -m screencodec COMMAND`` start (module docstring)."""
    if exec_only():
        return subprocess.Popen(list(argv), **popen_kwargs)
    return WarmPopen(list(argv), **popen_kwargs)


def warm_run(argv: Sequence[str], *, input: Any = None, capture_output: bool = False,
             timeout: float | None = None, check: bool = False,
             **popen_kwargs: Any) -> subprocess.CompletedProcess[Any]:  # fmt: skip
    """:func:`subprocess.run` through :func:`warm_popen` (its body, the same
    arguments and results)."""
    if input is not None:
        popen_kwargs["stdin"] = subprocess.PIPE
    if capture_output:
        popen_kwargs["stdout"] = popen_kwargs["stderr"] = subprocess.PIPE
    with warm_popen(argv, **popen_kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            exc.stdout, exc.stderr = process.communicate()
            raise
        except BaseException:
            process.kill()
            raise
        code = process.poll()
        assert code is not None
        if check and code:
            raise subprocess.CalledProcessError(code, process.args, output=stdout,
                                                stderr=stderr)  # fmt: skip
    return subprocess.CompletedProcess(process.args, code, stdout, stderr)


# --- the zygote ----------------------------------------------------------------


def _prepare() -> tuple[dict[str, Any], list[Any], list[Any]]:
    """Import what the commands import, noting the variables read meanwhile;
    the profile sent to the test process, the warnings filters before the
    imports and those the imports added."""
    base = list(warnings_module().filters)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main() sets it
    read: set[str] = set()
    whole: list[bool] = []
    environ_class = type(os.environ)

    class Recording(environ_class):  # type: ignore[misc, valid-type]
        def __getitem__(self, key: str) -> str:
            read.add(key)
            return super().__getitem__(key)  # type: ignore[no-any-return]

        def __iter__(self) -> Any:
            whole.append(True)
            return super().__iter__()

    commands = []
    # A warning while importing is an error in an exec under
    # PYTHONWARNINGS=error (the tests' ENV) and is printed otherwise: any
    # at all and every start is an exec, which shows it.
    warnings = warnings_module()
    warned: list[str] = []
    shown = warnings.showwarning
    warnings.showwarning = lambda message, category, *_: warned.append(
        f"{category.__name__}: {message}")
    warnings.filters.insert(0, ("always", None, Warning, None, 0))
    always = warnings.filters[0]
    warnings._filters_mutated()
    gc.disable()
    os.environ.__class__ = Recording
    try:
        import importlib

        import numpy  # noqa: F401

        from screencodec.cli import main as _main  # noqa: F401
        from screencodec.cli.sessions import COMMANDS

        for name, command in COMMANDS.items():
            try:
                importlib.import_module(command.module)
                if command.runs:
                    importlib.import_module(command.runs.partition(":")[0])
            except ImportError:
                continue
            commands.append(name)
    finally:
        os.environ.__class__ = environ_class
        del warnings.filters[next(n for n, f in enumerate(warnings.filters) if f is always)]
        warnings.showwarning = shown
        warnings._filters_mutated()
    gc.freeze()
    gc.enable()
    filters = warnings_module().filters
    kept = filters[len(filters) - len(base):] == base  # the imports only added in front
    added = filters[: len(filters) - len(base)] if kept else []
    problem = "" if kept else "warnings filters replaced"
    if whole:
        problem = "os.environ iterated while importing"
    if warned:
        problem = f"a warning while importing: {warned[0]}"
    profile = {"env": dict(os.environ), "read": sorted(read), "commands": commands,
               "problem": problem, "limits": _limits()}  # fmt: skip
    return profile, base, added


def warnings_module() -> Any:
    import warnings

    return warnings


def _serve(sock: socket.socket, parent: int) -> None:
    """Fork a child for each request until the test process is gone."""
    sys.path[0] = os.getcwd()  # not the tests' folder
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C at the test run's group
    profile, base, added = _prepare()
    sock.send(json.dumps(profile).encode())
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, socket.socket] = {}
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        ready = dict(poller.poll(1000))
        if os.getppid() != parent:
            return
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 512):
                    pass
        _reap(children)
        if sock.fileno() in ready:
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, _MAX_REQUEST, 4)
            except OSError:
                return
            if not data and not fds:
                return  # the test process closed it: its end
            _spawn(data, fds, children, (sock, wake_r, wake_w), base, added)


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reply = children.pop(pid, None)
        if reply is not None:
            with contextlib.suppress(OSError):
                reply.send(f"S{status}".encode())
            reply.close()


def _spawn(  # noqa: PLR0917
           data: bytes, fds: list[int], children: dict[int, socket.socket],
           own: tuple[Any, ...], base: list[Any], added: list[Any]) -> None:  # fmt: skip
    if len(fds) != 4:
        for fd in fds:
            os.close(fd)
        return
    reply = socket.socket(fileno=fds[3])
    stdio = fds[:3]
    request = json.loads(data)
    problem = ""
    if not os.path.isdir(request["cwd"]):
        problem = "no such folder"  # the exec says it as Popen does
    elif len(os.listdir("/proc/self/task")) != 1:
        problem = "the zygote has a thread"
    pid = -1
    if not problem:
        pid = os.fork()
        if pid == 0:
            _child(request, stdio, [*own, reply, *children.values()], base, added)
    for fd in stdio:
        os.close(fd)  # else the pty or pipe never reads EOF
    if problem:
        with contextlib.suppress(OSError):
            reply.send(f"E{problem}".encode())
        reply.close()
        return
    children[pid] = reply
    with contextlib.suppress(OSError):
        reply.send(f"P{pid}".encode())


def _child(request: dict[str, Any], stdio: list[int], own: list[Any],
           base: list[Any], added: list[Any]) -> None:  # fmt: skip
    """In the forked child: become ``python -m screencodec ARGV``; never returns."""
    code = 1
    try:
        if request["own_group"]:
            os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        for thing in own:
            if isinstance(thing, int):
                os.close(thing)
            else:
                thing.close()
        for n, fd in enumerate(stdio):
            os.dup2(fd, n)
        for fd in set(stdio):
            os.close(fd)
        _fresh_signals(request["ignored"])
        os.umask(request["umask"])
        env = request["env"]
        os.environ.clear()
        os.environ.update(env)
        os.chdir(request["cwd"])
        sys.path[0] = request["cwd"]
        _fresh_stdio(bool(env.get("PYTHONUNBUFFERED")))
        _fresh_warnings(env.get("PYTHONWARNINGS", ""), base, added)
        argv = ["-m", *request["argv"]]  # runpy puts the module's path first
        sys.argv = argv
        sys.orig_argv = [sys.executable, *CLI_PREFIX, *request["argv"]]
    except BaseException:  # nothing of the program ran: say why
        with contextlib.suppress(BaseException):
            os.write(2, traceback.format_exc().encode())
        os._exit(1)
    code = _run_as_main()
    os._exit(code)


def _fresh_signals(ignored: list[int]) -> None:
    """The dispositions an exec'd Python starts with: what the requester
    ignored stays ignored (exec keeps an ignore), the rest default, then
    Python's own (SIGPIPE, SIGXFSZ ignored; SIGINT raising
    KeyboardInterrupt unless it was ignored)."""
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_IGN if sig in ignored else signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    if signal.SIGINT not in ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _fresh_stdio(unbuffered: bool) -> None:
    """sys.stdin/stdout/stderr as Python's start-up (create_stdio) makes them
    for fds 0, 1, 2: encodings and errors as the zygote's own (the same
    locale and PYTHON* variables), buffering by PYTHONUNBUFFERED and tty."""
    made = []
    for fd, name, old in ((0, "<stdin>", sys.stdin), (1, "<stdout>", sys.stdout),
                          (2, "<stderr>", sys.stderr)):  # fmt: skip
        write = fd > 0
        buffering = 0 if unbuffered and write else -1
        buf = open(fd, "wb" if write else "rb", buffering=buffering, closefd=False)  # noqa: SIM115
        raw = buf if buffering == 0 else buf.raw  # type: ignore[attr-defined]
        raw.name = name
        tty = raw.isatty()
        text = io.TextIOWrapper(
            buf, encoding=old.encoding, errors=old.errors, newline="\n",
            line_buffering=not unbuffered and (tty or fd == 2),
            write_through=unbuffered)  # fmt: skip
        text.mode = "w" if write else "r"  # type: ignore[misc]
        made.append(text)
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc]


def _fresh_warnings(option: str, base: list[Any], added: list[Any]) -> None:
    """The filters a fresh interpreter with PYTHONWARNINGS=``option`` has after
    the same imports: the imports' own first, then the option's, then the
    defaults."""
    warnings = warnings_module()
    sys.warnoptions[:] = [o for o in option.split(",") if o]
    warnings.filters[:] = base
    warnings._processoptions(sys.warnoptions)
    warnings.filters[:0] = added
    warnings._filters_mutated()


def _run_as_main() -> int:
    """Run ``screencodec`` as ``python -m`` does and end as the interpreter
    ends: the status os._exit is given (a KeyboardInterrupt's: by SIGINT)."""
    import runpy

    main = types.ModuleType("__main__")
    main.__annotations__ = {}  # as the interpreter's __main__ starts
    sys.modules["__main__"] = main
    code = 0
    interrupted = False
    try:
        runpy._run_module_as_main("screencodec")  # type: ignore[attr-defined]
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException as exc:  # the interpreter's top level
        interrupted = isinstance(exc, KeyboardInterrupt)
        _print_uncaught(exc)
        code = 1
    code = _finalize(code)
    if interrupted:  # Python 3.8+: an uncaught Ctrl-C ends the process by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 128 + signal.SIGINT
    return code


def _exit_code(exc: SystemExit) -> int:
    """What Python's handle_system_exit makes of a SystemExit at the top."""
    value = exc.code
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    with contextlib.suppress(BaseException):
        print(value, file=sys.stderr)
    return 1


def _print_uncaught(exc: BaseException) -> None:
    """The traceback as ``python -m`` prints it: from runpy's frames on
    (this module's own are not the program's)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    with contextlib.suppress(BaseException):
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)


def _finalize(code: int) -> int:
    """Py_FinalizeEx's part a program can see: the non-daemon threads
    joined, the atexit handlers run, stdout and stderr flushed (120 when
    stdout cannot be, as Py_RunMain)."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
    except BaseException as exc:  # said as Python says it
        _unraisable(f"Exception ignored in: {threading!r}", exc)
    import atexit as atexit_module

    atexit_module._run_exitfuncs()
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except BaseException as exc:
            flushed = False
            if stream is sys.stdout:  # stderr's is not said (flush_std_files)
                _unraisable(f"Exception ignored in: {stream!r}", exc)
    return code if flushed else 120


def _unraisable(what: str, exc: BaseException) -> None:
    with contextlib.suppress(BaseException):
        sys.stderr.write(what + "\n" + "".join(traceback.format_exception(exc)))
        sys.stderr.flush()


def _main(argv: list[str]) -> int:
    sock = socket.socket(fileno=int(argv[1]))
    try:
        _serve(sock, int(argv[2]))
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
