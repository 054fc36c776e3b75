"""Starting Cling, once per process, with the C++ runtime
(``include/brian2cppyy/*.hpp``) loaded; compiling code in it.

Cling starts when the first model object is built for the ``cppyy`` target
(or, at the latest, on the first compilation), not when ``brian2cppyy`` is
imported, with the flags of the ``codegen.runtime.cppyy`` preferences (they
are fixed from then on: a later change is reported, not applied).

Cling starts through cppyy's C API, without cppyy's Python module: `launch`
loads cppyy's backend library (ctypes, which releases the GIL), and Cling
compiles the runtime headers through ``cppyy_compile`` (`declare`), on the
compile thread (`compile_thread`) while Python goes on. Importing cppyy
itself (0.2 s, holding the GIL) is left to the code that needs it: users'
functions, reflection (`start`). Python reads what it needs of the runtime
(addresses, the contract's values) through units that write them into its
memory (`read_values`); Cling's diagnostics come back through
``cling_diagnostics.hpp``.

What Python shares with the runtime (statuses, layouts, entry points) is
``contract.hpp``, read by `brian2cppyy.cling.contract`.

Threads: everything that touches Cling holds `lock` (Cling is not
thread-safe); kernels run without it (and without the GIL, through ctypes).
`ready` and `start` return once the compile thread is idle.
"""

import ctypes
import itertools
import os
import sys
import threading

from . import brian2_machine_code, compile_thread, precompiled_header
from ..log import get_logger

__all__ = ["launch", "ready", "start", "in_order", "declare", "read_values",
           "entry_points_address", "add_include_path", "started", "lock", "info",
           "warn_if_flags_differ", "ClingStartError", "INCLUDE_DIR"]

#: our C++ runtime headers (``#include "brian2cppyy/runtime.hpp"``)
INCLUDE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "include")

#: Serialises everything that touches Cling (it is not thread-safe).
lock = threading.RLock()

#: the headers loaded when Cling starts, with the optimisation level of each
#: (None: Cling's default): runtime.hpp's own code only runs when something
#: fails or a random buffer is refilled (-O0 halves its compile time); the
#: entry points are registered by network_loop.hpp. A unit compiled at -O0
#: must not run code when it is compiled (a static initialiser): Cling then
#: generates machine code at -O0 for every later unit, whatever its level
#: (tests/test_cling_start.py)
_RUNTIME_HEADERS = (("brian2cppyy/runtime.hpp", 0), ("brian2cppyy/network_loop.hpp", None))

#: the header whose functions capture Cling's diagnostics (compiled first),
#: and their ctypes types: ``void begin()``, ``const char* end()`` (not part
#: of contract.hpp, which is compiled after them; only this module calls them)
_DIAGNOSTICS_HEADER = "brian2cppyy/cling_diagnostics.hpp"
_DIAGNOSTICS_BEGIN = ctypes.CFUNCTYPE(None)
_DIAGNOSTICS_END = ctypes.CFUNCTYPE(ctypes.c_char_p)


class ClingStartError(RuntimeError):
    """Cling could not start with brian2cppyy's runtime (a broken
    installation of cppyy or of brian2cppyy): every later compilation in the
    process raises it again."""


_launched = False
_ready = False
#: the compile thread's job that starts Cling (None when it started here)
_start_job = None
#: the address of contract.hpp's ``brian2cppyy::entry_points``, read when
#: Cling starts
_entry_points_address = None
_start_error = None
_cppyy = None
_started_flags = None
#: flag sets a compilation was asked for after Cling had started with others
_ignored_flags = set()
_versions = None
#: ``int cppyy_compile(const char*)`` of cppyy's backend (ctypes: without the GIL)
_cppyy_compile = None
#: cling_diagnostics.hpp's begin() and end() (ctypes)
_capture = None
_read_units = itertools.count()


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


def _prepare_backend():
    """What cppyy's own import does before it loads its backend, on the main
    thread (cppyy's loader changes the working directory while it checks
    the precompiled header, and may build one): the precompiled header cppyy
    ships, or ours (`precompiled_header`), and C++'s standard library loaded
    globally (as cppyy's ``_stdcpp_fix``), then Brian2's extension modules
    (`brian2_machine_code`)."""
    from cppyy_backend import loader

    shipped = precompiled_header.expected_path()
    if "CLING_STANDARD_PCH" not in os.environ and shipped is not None:
        os.environ["CLING_STANDARD_PCH"] = shipped
    loader.set_cling_compile_options()
    loader.ensure_precompiled_header()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libstdc++.so.6", ctypes.RTLD_GLOBAL)
        except OSError:
            pass
        brian2_machine_code.share()


def launch():
    """Start Cling (once per process) with the flags from the preferences:
    on the compile thread, so that this returns at once (unless
    ``codegen.runtime.cppyy.compile_in_background`` is off). Units
    submitted to that thread afterwards compile once Cling has started;
    `ready` waits for it."""
    global _launched, _started_flags, _start_job
    if _launched:  # without the lock, which the start holds while it compiles
        return
    with lock:
        if _launched:
            return
        flags = _set_flags()
        _prepare_backend()
        _started_flags = os.environ.get("EXTRA_CLING_ARGS", flags)
        _launched = True
    _start_job = in_order(_start_cling)


def _start_cling():
    """Load cppyy's backend (Cling starts in it) and compile the runtime
    headers; raises `ClingStartError` (now and on every later call) if
    either fails."""
    global _ready, _start_error, _entry_points_address
    with lock:
        if _ready:
            return
        if _start_error is not None:
            raise ClingStartError(str(_start_error))
        try:
            _load_backend()
            address, reader = _value_writer(("&brian2cppyy::entry_points",), ctypes.c_int64)
            for header, level in _RUNTIME_HEADERS:
                pragma = "" if level is None else f"#pragma cling optimize({level})\n"
                # the last unit (optimised) also reads where the entry points are
                last = header == _RUNTIME_HEADERS[-1][0]
                compiled, diagnostics = _compile_captured(
                    f'{pragma}#include "{header}"\n{reader if last else ""}')
                if not compiled:
                    raise ClingStartError(
                        f"Cling could not compile brian2cppyy's runtime header {header} "
                        f"(a broken installation?):\n{diagnostics.strip()}")
        except Exception as exc:  # not a KeyboardInterrupt: the next start tries again
            _start_error = exc if isinstance(exc, ClingStartError) else ClingStartError(
                f"Cling could not start: {exc}")
            raise _start_error from exc
        _entry_points_address = address[0]
        _ready = True


def _load_backend():
    """cppyy's backend loaded (ctypes), the include paths set, and the
    functions that capture Cling's diagnostics compiled (their own
    compilation is not captured: Cling's messages, if any, go to stderr)."""
    global _cppyy_compile, _capture
    from cppyy_backend import loader

    loader.load_cpp_backend()
    function = ctypes.CDLL(None).cppyy_compile  # the backend is loaded RTLD_GLOBAL
    function.argtypes = [ctypes.c_char_p]
    function.restype = ctypes.c_int
    _cppyy_compile = function
    paths = _brian2_include_dirs() + [INCLUDE_DIR]
    pragmas = "".join(f"#pragma cling add_include_path({_string_literal(p)})\n" for p in paths)
    addresses, source = _value_writer(("&brian2cppyy::cling_diagnostics::begin",
                                       "&brian2cppyy::cling_diagnostics::end"), ctypes.c_int64)
    if not _cppyy_compile(f'{pragmas}#include "{_DIAGNOSTICS_HEADER}"\n{source}'.encode()):
        raise ClingStartError("Cling could not compile brian2cppyy's "
                              f"{_DIAGNOSTICS_HEADER} (its messages are on stderr).")
    _capture = (_DIAGNOSTICS_BEGIN(addresses[0]), _DIAGNOSTICS_END(addresses[1]))


def in_order(function, *args):
    """Call ``function(*args)`` (which uses Cling) after everything handed to
    Cling before: on the compile thread, without waiting, when kernels
    compile there (``codegen.runtime.cppyy.compile_in_background``: returns
    the job's `Future`); now otherwise. Starts Cling (`launch`) first."""
    from brian2 import prefs

    launch()
    if prefs["codegen.runtime.cppyy.compile_in_background"]:
        return compile_thread.submit(function, *args)
    function(*args)
    return None


def add_include_path(path):
    """Add ``path`` to Cling's include path."""
    with lock:
        compiled, diagnostics = declare(f"#pragma cling add_include_path({_string_literal(path)})")
    if not compiled:
        raise RuntimeError(f"Cling could not add the include path {path}: {diagnostics}")


def _string_literal(text):
    """``text`` as a C string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ready():
    """Start Cling (`launch`) and return once it runs with the runtime
    loaded and the compile thread is idle (unless the caller is that
    thread): then Cling may be used on this thread. Raises
    `ClingStartError` if Cling could not start."""
    launch()
    compile_thread.wait_idle()
    if not _ready:
        _start_cling()


def entry_points_address():
    """The address of the runtime's ``brian2cppyy::entry_points``
    (contract.hpp), read when Cling started: waits for Cling's start, not for
    the units handed to the compile thread after it. Raises `ClingStartError`
    if Cling could not start."""
    launch()
    job = _start_job
    if not _ready and job is not None:
        try:
            compile_thread.wait_for(job)
        except ClingStartError:
            pass  # raised again below
    if not _ready:
        ready()
    return _entry_points_address


def start():
    """`ready`, and the ``cppyy`` module, imported once (0.2 s: for the code
    that needs cppyy's Python layer, e.g. users' headers and libraries,
    reflection)."""
    global _cppyy
    ready()
    if _cppyy is None:
        with lock:
            if _cppyy is None:
                import cppyy

                _cppyy = cppyy
    return _cppyy


def _compile_captured(source):
    """``(compiled, diagnostics)`` of ``source`` compiled by Cling (the caller
    holds `lock`; Python runs meanwhile: ctypes releases the GIL)."""
    begin, end = _capture
    begin()
    try:
        compiled = bool(_cppyy_compile(source.encode("utf-8")))
    finally:
        diagnostics = end()
    return compiled, (diagnostics or b"").decode("utf-8", "replace")


def declare(source):
    """Have Cling compile ``source``; returns ``(compiled, diagnostics)``
    (Cling's messages, warnings included). Starts Cling first if it has
    not started. Python runs meanwhile (ctypes releases the GIL); the
    caller holds `lock`."""
    launch()
    if not _ready:
        _start_cling()
    return _compile_captured(source)


def _value_writer(expressions, ctype):
    """A ctypes array of ``ctype`` and the C++ source of a unit that writes
    the value of each C++ expression in ``expressions`` into it (converted
    with a C-style cast: enumerators, pointers, functions' addresses)."""
    values = (ctype * len(expressions))()
    cpp_type = {ctypes.c_int64: "int64_t", ctypes.c_double: "double"}[ctype]
    target = f"reinterpret_cast<{cpp_type}*>({ctypes.addressof(values):#x})"
    writes = "".join(f"    {target}[{i}] = ({cpp_type})({expression});\n"
                     for i, expression in enumerate(expressions))
    name = f"_b2c_read_{next(_read_units)}"
    source = (f"namespace {name} {{\nconst bool written = [] {{\n{writes}    return true;\n"
              f"}}();\n}}  // namespace {name}\n")
    return values, source


def read_values(expressions, ctype=ctypes.c_int64):
    """The values of C++ expressions in the running Cling, as a list of
    ``ctype`` values (``ctypes.c_int64`` or ``ctypes.c_double``): a unit
    writes them into Python's memory, so no cppyy call (and no wrapper for
    Cling to compile) is needed. Waits until Cling is `ready`."""
    ready()
    with lock:
        values, source = _value_writer(tuple(expressions), ctype)
        compiled, diagnostics = declare(source)
        if not compiled:
            raise RuntimeError(f"Cling could not read {', '.join(expressions)}:\n"
                               f"{diagnostics.strip()}")
        return list(values)


def started():
    """Whether Cling runs in this process (with the runtime loaded)."""
    return _ready


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
    if _versions is None:
        clang, cplusplus = read_values(("__clang_version__", "__cplusplus"))
        _versions = {
            "clang": ctypes.string_at(clang).decode("utf-8", "replace").strip(),
            "cplusplus": int(cplusplus),
        }
    version = precompiled_header.distribution_version
    pch = os.environ.get("CLING_STANDARD_PCH")
    return {
        "flags": _started_flags,
        "cppyy": version("cppyy"),
        "cppyy_cling": version("cppyy-cling"),
        "cppyy_backend": version("cppyy-backend"),
        "CPyCppyy": version("CPyCppyy"),
        **_versions,
        "pch": None if pch is None or pch.lower() == "none" else pch,
    }
