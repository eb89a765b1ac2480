"""Build of the compiled extensions only; all metadata lives in pyproject.toml.

Every ``.pyx`` under src/screencodec becomes one extension. A module names the
C kernels it links with a ``# distutils: sources = csrc/...`` line at its top,
so adding a kernel never means editing this file.

Switches, read from the environment:
  SCREENCODEC_DEBUG=1        -O0 -g, Cython bounds checks and line tracing on
  SCREENCODEC_SANITIZE=...   e.g. "address,undefined": build with those sanitizers
  SCREENCODEC_ANNOTATE=1     write Cython's HTML annotation next to each .pyx
  SCREENCODEC_NO_EXT=1       no extensions: the editable install bootstrap.sh makes
                             before `make build` compiles them in place

The extensions compile side by side, one per core. A build whose switches
differ from the last one's recompiles everything, so a `make debug` build is
never kept, or packed into a wheel, as if it were an optimised one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("SCREENCODEC_DEBUG") == "1"
SANITIZE = os.environ.get("SCREENCODEC_SANITIZE", "")
ANNOTATE = os.environ.get("SCREENCODEC_ANNOTATE") == "1"
NO_EXT = os.environ.get("SCREENCODEC_NO_EXT") == "1"

compile_args = ["-O0", "-g"] if DEBUG else ["-O3", "-g0"]
compile_args += ["-Wall", "-Wno-unused-function", "-Wno-unreachable-code"]
link_args: list[str] = []
macros: list[tuple[str, str | None]] = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if SANITIZE:
    compile_args += [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer"]
    link_args += [f"-fsanitize={SANITIZE}"]
if DEBUG:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "linetrace": DEBUG,
    "embedsignature": True,
}

extensions = [
    Extension(
        ".".join(pyx.relative_to("src").with_suffix("").parts),
        [str(pyx)],
        include_dirs=["csrc"],
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for pyx in sorted(Path("src/screencodec").rglob("*.pyx"))
    if not NO_EXT
]

# What a build depends on besides its sources: when it changes, every module
# is generated and compiled again.
BUILD_DIR = Path(__file__).resolve().parent / "build"
SWITCHES_FILE = BUILD_DIR / ".switches.json"
switches = json.dumps(
    {
        "compile": compile_args,
        "link": link_args,
        "macros": macros,
        "directives": directives,
        "modules": [ext.name for ext in extensions],
    },
    sort_keys=True,
)


def _switches_changed() -> bool:
    try:
        return SWITCHES_FILE.read_text() != switches
    except OSError:
        return True


@contextlib.contextmanager
def _tree_lock() -> Iterator[None]:
    """One build at a time in this tree. Builds share build/temp.* and
    build/lib.* (where every .so is linked before an in-place build copies it
    into src/, and where pip wheel links too): two builds at once linked each
    other's half-written objects or copied a .so another linker was still
    writing."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    lock = BUILD_DIR / ".build-lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


class _BuildExt(build_ext):
    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1
        if REBUILD:
            self.force = True
            # A module no longer built must not be packed from an old build
            # (only .so files go: build_py may have copied the sources there).
            built = {self.get_ext_filename(ext.name) for ext in self.extensions}
            for lib in BUILD_DIR.glob("lib.*"):
                for so in lib.rglob("*.so"):
                    if str(so.relative_to(lib)) not in built:
                        so.unlink()

    def run(self) -> None:
        super().run()
        SWITCHES_FILE.write_text(switches)

    def build_extension(self, ext):
        """Each module compiles into its own temporary folder: two of them
        compile csrc/tilediff.c, and side by side they would write one .o at
        once. A copy of the command, as the threads share this one."""
        own = copy.copy(self)
        own.build_temp = os.path.join(self.build_temp, ext.name)
        super(_BuildExt, own).build_extension(ext)

    def copy_file(self, infile, outfile, *args, **kwargs):
        """Install an in-place .so with a rename: a process importing it meanwhile
        maps either the old file or the new one, never a half-copied one."""
        tmp = f"{outfile}.{os.getpid()}.tmp"
        _, copied = super().copy_file(infile, tmp, *args, **kwargs)
        if os.path.exists(tmp):
            os.replace(tmp, outfile)
        return outfile, copied


# An install with no extensions (bootstrap.sh's, while `make build` compiles)
# shares none of the build's folders: it does not wait for its lock.
with _tree_lock() if extensions else contextlib.nullcontext():
    REBUILD = bool(extensions) and _switches_changed()
    setup(
        ext_modules=cythonize(
            extensions,
            compiler_directives=directives,
            annotate=ANNOTATE,
            force=REBUILD,
            nthreads=os.cpu_count() or 1,
        )
        if extensions
        else [],
        cmdclass={"build_ext": _BuildExt},
    )
