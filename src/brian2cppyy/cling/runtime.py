"""Starting Cling, once per process, with the C++ runtime
(``include/brian2cppyy/*.hpp``) loaded.

Cling starts on the first compilation, not when ``brian2cppyy`` is imported,
with the flags of the ``codegen.runtime.cppyy`` preferences (they are fixed
from then on: a later change is reported, not applied).

What Python shares with the runtime (statuses, layouts, entry points) is
``contract.hpp``, read by `brian2cppyy.cling.contract`.

Threads: everything that touches Cling holds `lock` (Cling is not
thread-safe); kernels run without it (and without the GIL, through ctypes).
Kernels compile on the compile thread (`compile_thread`) while Python goes
on: `start` hands cppyy out only when that thread is idle, and `declare`
compiles without holding the GIL.
"""

import ctypes
import os
import sys
import threading

from . import compile_thread, precompiled_header
from ..log import get_logger

__all__ = ["start", "launch", "declare", "started", "lock", "info", "warn_if_flags_differ",
           "INCLUDE_DIR"]

#: our C++ runtime headers (``#include "brian2cppyy/runtime.hpp"``)
INCLUDE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "include")

#: Serialises everything that touches Cling (it is not thread-safe).
lock = threading.RLock()

#: the headers loaded when Cling starts, with the optimisation level of each
#: (None: Cling's default): runtime.hpp's own code only runs when something
#: fails or a random buffer is refilled (-O0 halves its compile time); the
#: entry points of every time step are in network_loop.hpp
_RUNTIME_HEADERS = (("brian2cppyy/runtime.hpp", 0), ("brian2cppyy/network_loop.hpp", None))

_cppyy = None
_started_flags = None
#: flag sets a compilation was asked for after Cling had started with others
_ignored_flags = set()
_versions = None


def _brian2_include_dirs():
    import brian2

    base = os.path.dirname(brian2.__file__)
    return [
        os.path.join(base, "devices", "cpp_standalone", "brianlib"),
        os.path.join(base, "synapses"),
    ]


def _set_flags():
    """``EXTRA_CLING_ARGS`` from the preferences, unless cppyy was imported
    before us (then the flags in use are reported)."""
    from ..preferences import cling_flags

    flags = cling_flags()
    if "cppyy" in sys.modules:
        current = os.environ.get("EXTRA_CLING_ARGS", "")
        if current.split() != flags.split():
            _ignored_flags.add(flags)
            get_logger(__name__).warn(
                "cppyy was imported before brian2cppyy started Cling; the "
                f"Cling flags in use are '{current}', not '{flags}' as the "
                "codegen.runtime.cppyy preferences ask.",
                "flags_ignored",
                once=True,
            )
    else:
        os.environ["EXTRA_CLING_ARGS"] = flags
        precompiled_header.choose(flags)
        precompiled_header.check()
    return flags


def start():
    """Start Cling (once per process) with the flags from the preferences and
    load the runtime headers. Returns the ``cppyy`` module, for the caller
    to use: first waits until the compile thread has compiled what it was
    given (unless the caller is that thread)."""
    cppyy = launch()
    compile_thread.wait_idle()
    return cppyy


def launch():
    """Start Cling (once per process) as `start` does, without waiting for
    the compile thread: for code that only hands units to that thread."""
    global _cppyy, _started_flags
    if _cppyy is not None:
        return _cppyy
    with lock:
        if _cppyy is not None:
            return _cppyy
        flags = _set_flags()
        import cppyy

        for path in _brian2_include_dirs() + [INCLUDE_DIR]:
            cppyy.add_include_path(path)
        for header, level in _RUNTIME_HEADERS:
            pragma = "" if level is None else f"#pragma cling optimize({level})\n"
            cppyy.cppdef(f'{pragma}#include "{header}"')
        _started_flags = os.environ.get("EXTRA_CLING_ARGS", flags)
        _cppyy = cppyy
    return _cppyy


#: the C API of cppyy's backend: ``int cppyy_compile(const char* code)``
#: declares code to Cling (cppyy.cppdef's call, without cppyy's Python
#: layer); through ctypes it runs without the GIL
_cppyy_compile = None


def declare(source):
    """Have Cling compile ``source``; returns ``(compiled, diagnostics)``
    (Cling's messages, warnings included). Python runs meanwhile (ctypes
    releases the GIL); the caller holds `lock`."""
    global _cppyy_compile
    cppyy = launch()
    if _cppyy_compile is None:
        function = ctypes.CDLL(None).cppyy_compile  # the backend is loaded RTLD_GLOBAL
        function.argtypes = [ctypes.c_char_p]
        function.restype = ctypes.c_int
        _cppyy_compile = function
    capture = cppyy._backend  # cppyy.cppdef's capture of Cling's diagnostics
    capture._begin_capture_stderr()
    try:
        compiled = bool(_cppyy_compile(source.encode("utf-8")))
    finally:
        diagnostics = capture._end_capture_stderr()
    if isinstance(diagnostics, bytes):
        diagnostics = diagnostics.decode("utf-8", "replace")
    return compiled, diagnostics or ""


def started():
    """Whether Cling runs in this process."""
    return _cppyy is not None


def warn_if_flags_differ():
    """Warn (once per flag set) when the Cling flags preferences changed
    after Cling started: they only take effect in a new process."""
    from ..preferences import cling_flags

    flags = cling_flags()
    if flags.split() == (_started_flags or "").split() or flags in _ignored_flags:
        return
    _ignored_flags.add(flags)
    get_logger(__name__).warn(
        f"The codegen.runtime.cppyy preferences ask for the Cling flags "
        f"'{flags}', but Cling is already running with '{_started_flags}' in "
        "this process; the new extra_cling_args take effect in a new Python "
        "process.",
        "flags_fixed",
    )


def info():
    """Flags, versions and precompiled header of the running Cling (starts
    it if needed): ``flags`` (``EXTRA_CLING_ARGS`` in use), ``cppyy``,
    ``cppyy_cling``, ``cppyy_backend``, ``CPyCppyy`` (package versions),
    ``clang`` (``__clang_version__`` as Cling reports it), ``cplusplus``
    (``__cplusplus``) and ``pch`` (the precompiled header Cling was told to
    use: ``CLING_STANDARD_PCH``, or ``None``)."""
    global _versions
    cppyy = start()
    with lock:
        if _versions is None:
            cppyy.cppdef(
                "namespace brian2cppyy_info {\n"
                "const char* clang_version() { return __clang_version__; }\n"
                "long cplusplus() { return __cplusplus; }\n"
                "}\n"
            )
            namespace = cppyy.gbl.brian2cppyy_info
            _versions = {
                "clang": str(namespace.clang_version()).strip(),
                "cplusplus": int(namespace.cplusplus()),
            }
    version = precompiled_header.distribution_version
    pch = os.environ.get("CLING_STANDARD_PCH")
    return {
        "flags": _started_flags,
        "cppyy": getattr(cppyy, "__version__", "unknown"),
        "cppyy_cling": version("cppyy-cling"),
        "cppyy_backend": version("cppyy-backend"),
        "CPyCppyy": version("CPyCppyy"),
        **_versions,
        "pch": None if pch is None or pch.lower() == "none" else pch,
    }
