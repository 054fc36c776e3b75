"""The one module that talks to cppyy: Cling flags, include paths, the runtime
header, compilation of kernel units (each in its own C++ namespace), the
process-wide cache of compiled units, and the translation of Cling's
diagnostics into Python exceptions.

Cling starts on the first compilation, not when ``brian2cppyy`` is imported.

Threads: everything that touches Cling holds ``_lock``; kernels run without
it (and without the GIL, through ctypes), so kernels of several Python
threads run at once. What they share is guarded in C++ (``runtime.hpp``: the
random buffers by ``random_mutex``, the last exception message per thread).
"""

import ctypes
import ctypes.util
import hashlib
import os
import re
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CompilationError",
    "compile_unit",
    "ensure_started",
    "stats",
    "cache_info",
    "cling_info",
    "get_logger",
]

_INCLUDE_DIR = os.path.join(os.path.dirname(__file__), "include")

#: Serialises everything that touches Cling (it is not thread-safe).
_lock = threading.RLock()
_cppyy = None
_started_flags = None
#: names (C++ namespaces) of the units compiled in this process
_units = set()
#: each header included into Cling -> (the user's file it resolved to, the
#: hash of its contents), or (None, None) for a header outside the user's dirs
_included_headers = {}
#: the include directories added for users' code, in order
_include_dirs = []
_loaded_libraries = set()
#: path of each user source file compiled into Cling -> hash of its contents
_compiled_sources = {}
_refill_callback = None  # keeps the ctypes callback alive
#: ``.error``: an exception raised by a callback during a kernel, per thread
#: (the callback runs in the thread that called the kernel)
_pending = threading.local()
#: flag sets a compilation was asked for after Cling had started with others
_ignored_flags = set()
#: brian2cppyy::exchange (runtime.hpp), read and written through ctypes
_exchange = None
#: the slots of brian2cppyy::exchange (runtime.hpp's ExchangeSlot, read
#: from C++ when Cling starts: one source of truth)
_slot = {}
_fill_uniform = None


@dataclass
class Stats:
    """Counters of the JIT, for tests and users (``brian2cppyy.stats()``)."""

    compiled: int = 0  #: kernel units compiled by Cling
    cache_hits: int = 0  #: requests answered from the in-process cache
    compile_seconds: float = 0.0  #: time spent in Cling compiling units
    failed: int = 0  #: compilations that raised an error

    def as_dict(self):
        return dict(self.__dict__)


_stats = Stats()


def stats():
    """A snapshot of the JIT counters as a dict."""
    return _stats.as_dict()


def cache_info():
    """The in-process cache of compiled code, as a dict (``brian2cppyy.cache_info()``):
    ``units`` (C++ units in the cache), ``kernels`` (kernels among them),
    ``compiled``, ``cache_hits``, ``failed``, ``compile_seconds`` (as in
    `stats`), ``headers``, ``libraries``, ``sources`` (user headers, libraries
    and source files loaded into Cling) and ``started`` (whether Cling runs).
    Compiled code stays in Cling until the process ends."""
    with _lock:
        info = {
            "units": len(_units),
            "kernels": len(_kernel_addresses),
            "headers": len(_included_headers),
            "libraries": len(_loaded_libraries),
            "sources": len(_compiled_sources),
            "started": _cppyy is not None,
        }
        info.update(_stats.as_dict())
    return info


class _SerialisedLogger:
    """Brian2's logger for this package, with one lock around each call.

    Brian2 logs the messages of extension packages (logger names outside
    ``brian2.``) by adding a filter to the logger for the duration of the
    call and removing it afterwards. Two threads logging at once therefore
    both see both filters, and Brian2's filter fails an assertion
    (``AssertionError: brian2cppyy.network_loop.run``) in the middle of a
    ``Network.run``. All of this package's logging goes through this class."""

    _lock = threading.Lock()

    def __init__(self, name):
        from brian2.utils.logger import get_logger as brian2_get_logger

        self._logger = brian2_get_logger(name)

    def _log(self, method, *args, **kwds):
        with _SerialisedLogger._lock:
            return getattr(self._logger, method)(*args, **kwds)

    def debug(self, *args, **kwds):
        return self._log("debug", *args, **kwds)

    def diagnostic(self, *args, **kwds):
        return self._log("diagnostic", *args, **kwds)

    def info(self, *args, **kwds):
        return self._log("info", *args, **kwds)

    def warn(self, *args, **kwds):
        return self._log("warn", *args, **kwds)

    def error(self, *args, **kwds):
        return self._log("error", *args, **kwds)


def get_logger(name):
    """A thread-safe Brian2 logger for a module of this package."""
    return _SerialisedLogger(name)


class CompilationError(Exception):
    """Cling rejected generated C++ code."""

    def __init__(self, message, diagnostics="", lines=()):
        super().__init__(message)
        self.diagnostics = diagnostics
        self.lines = tuple(lines)


def _brian2_include_dirs():
    import brian2

    base = os.path.dirname(brian2.__file__)
    return [
        os.path.join(base, "devices", "cpp_standalone", "brianlib"),
        os.path.join(base, "synapses"),
    ]


_FILL_UNIFORM_TYPE = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p
)


def _refill(kind, address, size):
    """Called from C++ when a random buffer's index wraps around to 0: refill
    the buffer in place from numpy's generator, as the Cython target does
    (``numpy.random.rand``/``randn``). Uniform numbers are filled in C++
    from the generator's own ``next_double`` (the same numbers, without a
    numpy array per refill)."""
    try:
        if kind == 0:
            generator = np.random.mtrand._rand._bit_generator
            with generator.lock:
                interface = generator.ctypes
                _fill_uniform(
                    address, size,
                    ctypes.cast(interface.next_double, ctypes.c_void_p).value,
                    interface.state_address,
                )
        else:
            buffer = np.ctypeslib.as_array(
                ctypes.cast(address, ctypes.POINTER(ctypes.c_double)), shape=(size,)
            )
            buffer[:] = np.random.randn(size)
        return 0
    except BaseException as exc:  # never let a Python error unwind through C++
        _pending.error = exc
        return -1


def take_pending_error():
    """The exception a Python callback stored during a kernel in this thread
    (``None`` if there is none); it is cleared."""
    exc = getattr(_pending, "error", None)
    _pending.error = None
    return exc


def raise_pending_error():
    """Raise an exception that a Python callback stored during a kernel."""
    exc = take_pending_error()
    if exc is not None:
        raise exc


def runtime_constants(*names):
    """``{name: value}`` of enumerators and constants of namespace
    ``brian2cppyy`` in the C++ runtime headers (starts Cling). The headers
    are the one source of truth for the numbers that Python and C++ share:
    status codes, exchange slots, the loop's state and results."""
    cppyy = ensure_started()
    namespace = cppyy.gbl.brian2cppyy
    return {name: int(getattr(namespace, name)) for name in names}


#: the kernel status codes (brian2cppyy::Status in runtime.hpp) with their
#: messages; ``jit.ERR_...`` reads the value from the header when first used
_STATUS_MESSAGES = {
    "ERR_INDEX": "index out of range",
    "ERR_SAMPLE_SIZE": "sample size bigger than the population",
    "ERR_INTERRUPTED": "interrupted",
    "ERR_CALLBACK": "a Python callback (the random-number buffer refill) failed",
    "ERR_INVALID_VALUE": "invalid value",
    "ERR_NEGATIVE_SAMPLE_SIZE": "negative sample size",
    "ERR_CPP_EXCEPTION": "a C++ exception",
    "ERR_ZERO_DIVISION": "integer division or modulo by zero",
    "ERR_FAULT": "a hardware fault",
    "ERR_KERNEL_INTERRUPTED": "interrupted inside a kernel",
}


def __getattr__(name):
    if name in _STATUS_MESSAGES:
        value = runtime_constants(name)[name]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def last_cpp_exception_message():
    """The message of the last C++ exception a kernel caught in this thread."""
    cppyy = ensure_started()
    with _lock:
        return str(cppyy.gbl.brian2cppyy.last_error_message())


def status_message(status):
    """The message of a kernel's status code."""
    module = sys.modules[__name__]
    for name, message in _STATUS_MESSAGES.items():
        if getattr(module, name) == int(status):
            return message
    return f"status {status}"


def _choose_precompiled_header(flags):
    """Use cppyy's shipped precompiled header when there is one; otherwise
    let cppyy build it (once per set of flags) in our cache directory, which
    is writable even where site-packages is not."""
    import importlib.util

    from .preferences import register_cache_dir

    cache = register_cache_dir()
    if "CLING_STANDARD_PCH" in os.environ:
        return
    spec = importlib.util.find_spec("cppyy")
    if spec is None or spec.origin is None:
        return
    cppyy_dir = os.path.dirname(spec.origin)
    if any(f.startswith("allDict.cxx.pch") for f in os.listdir(cppyy_dir)):
        return
    tag = hashlib.sha1(flags.encode()).hexdigest()[:12]
    os.environ["CLING_STANDARD_PCH"] = os.path.join(cache, f"allDict.cxx.{tag}.pch")


#: the first bytes of a Clang precompiled header
_PCH_MAGIC = b"CPCH"


def expected_pch_path():
    """The precompiled header Cling uses (or will use when it starts):
    ``CLING_STANDARD_PCH`` if set (``None`` if it is ``'none'``), else the one
    cppyy ships, else ``None`` (cppyy then builds one when it starts)."""
    import importlib.util

    env = os.environ.get("CLING_STANDARD_PCH")
    if env is not None:
        return None if env.lower() == "none" else env
    spec = importlib.util.find_spec("cppyy")
    if spec is None or spec.origin is None:
        return None
    path = os.path.join(
        os.path.dirname(spec.origin),
        "allDict.cxx.pch." + _distribution_version("cppyy-cling"),
    )
    return path if os.path.exists(path) else None


def pch_problem(path):
    """Why ``path`` is not a usable precompiled header (a string), or ``None``."""
    if not os.path.exists(path):
        return "the file does not exist"
    if not os.path.isfile(path):
        return "it is not a file"
    try:
        with open(path, "rb") as f:
            head = f.read(len(_PCH_MAGIC))
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if head != _PCH_MAGIC:
        return "it is not a Clang precompiled header (corrupt or truncated)"
    return None


def _check_precompiled_header():
    """Cling crashes the process (segmentation fault) when its precompiled
    header is not one. A broken header in our cache directory is removed (cppyy
    builds it again); any other one stops the start with a clear error."""
    from .preferences import cache_dir

    path = expected_pch_path()
    if path is None or not os.path.exists(path):
        return  # cppyy builds it
    problem = pch_problem(path)
    if problem is None:
        return
    if os.path.dirname(os.path.abspath(path)) == cache_dir():
        get_logger(__name__).warn(
            f"The precompiled header {path} in brian2cppyy's cache is unusable "
            f"({problem}); cppyy builds it again (about a minute).",
            "pch_rebuilt",
        )
        os.remove(path)
        return
    raise RuntimeError(
        f"Cling cannot start: the precompiled header {path} is unusable "
        f"({problem}), and Cling would crash the process with it. Reinstall "
        "cppyy-cling, or fix or unset the CLING_STANDARD_PCH environment variable."
    )


def ensure_started():
    """Start Cling (once per process) with the flags from the preferences and
    load the runtime support header. Returns the ``cppyy`` module."""
    global _cppyy, _started_flags, _refill_callback
    if _cppyy is not None:
        return _cppyy
    with _lock:
        if _cppyy is not None:
            return _cppyy
        import sys

        from .preferences import cling_flags

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
            _choose_precompiled_header(flags)
            _check_precompiled_header()
        import cppyy

        for path in _brian2_include_dirs() + [_INCLUDE_DIR]:
            cppyy.add_include_path(path)
        cppyy.include("brian2cppyy/runtime.hpp")
        cppyy.include("brian2cppyy/network_loop.hpp")
        callback_type = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int
        )
        _refill_callback = callback_type(_refill)
        import cppyy.ll

        global _exchange, _fill_uniform
        ns = cppyy.gbl.brian2cppyy
        for name in ("LAST_KERNEL", "NETWORK_LOOP", "REFILL_CALLBACK", "GUARDED_CALL",
                     "INSTALL_FAULT_HANDLERS", "FILL_UNIFORM", "SIZE"):
            _slot[name] = int(getattr(ns, "EXCHANGE_" + name))
        _exchange = (ctypes.c_int64 * _slot["SIZE"]).from_address(
            cppyy.ll.addressof(ns.exchange)
        )
        _exchange[_slot["REFILL_CALLBACK"]] = ctypes.cast(
            _refill_callback, ctypes.c_void_p
        ).value
        _fill_uniform = _FILL_UNIFORM_TYPE(int(_exchange[_slot["FILL_UNIFORM"]]))
        _started_flags = os.environ.get("EXTRA_CLING_ARGS", flags)
        _cppyy = cppyy
    return _cppyy


_cling_versions = None


def _distribution_version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def cling_info():
    """Flags, versions and precompiled header of the running Cling (starts
    it if needed): ``flags`` (``EXTRA_CLING_ARGS`` in use), ``cppyy``,
    ``cppyy_cling``, ``cppyy_backend``, ``CPyCppyy`` (package versions),
    ``clang`` (``__clang_version__`` as Cling reports it), ``cplusplus``
    (``__cplusplus``) and ``pch`` (the precompiled header Cling was told to
    use: ``CLING_STANDARD_PCH``, or ``None``)."""
    global _cling_versions
    cppyy = ensure_started()
    with _lock:
        if _cling_versions is None:
            cppyy.cppdef(
                "namespace brian2cppyy_info {\n"
                "const char* clang_version() { return __clang_version__; }\n"
                "long cplusplus() { return __cplusplus; }\n"
                "}\n"
            )
            ns = cppyy.gbl.brian2cppyy_info
            _cling_versions = {
                "clang": str(ns.clang_version()).strip(),
                "cplusplus": int(ns.cplusplus()),
            }
    pch = os.environ.get("CLING_STANDARD_PCH")
    return {
        "flags": _started_flags,
        "cppyy": getattr(cppyy, "__version__", "unknown"),
        "cppyy_cling": _distribution_version("cppyy-cling"),
        "cppyy_backend": _distribution_version("cppyy-backend"),
        "CPyCppyy": _distribution_version("CPyCppyy"),
        **_cling_versions,
        "pch": None if pch is None or pch.lower() == "none" else pch,
    }


def _warn_if_flags_differ():
    """A compilation after the Cling flags preferences changed: they only
    take effect in a new process (Cling's flags are fixed when it starts)."""
    from .preferences import cling_flags

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


def _user_header_file(header):
    """The file of a user's header: an absolute path, or the first match in
    the include directories added for users' code (then the working
    directory, for a quoted name). ``None`` for system headers."""
    name = header.strip('<>"')
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    directories = list(_include_dirs)
    if not header.startswith("<"):
        directories.append(os.getcwd())
    for directory in directories:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def _changed_file_error(kind, path):
    return CompilationError(
        f"The {kind} '{path}' has changed since it was compiled into Cling in "
        "this process. Cling cannot replace the code it defines, so the old "
        "version would keep running: restart the Python process to use the new "
        "version."
    )


def include_header(header):
    """``#include`` a header into Cling once (``<a.h>``, ``"a.h"`` or ``a.h``).
    A user's header file that changed after its inclusion is an error (as for
    `compile_source_file`): Cling would keep the old definitions."""
    cppyy = ensure_started()
    header = header.strip()
    with _lock:
        if header in _included_headers:
            path, digest = _included_headers[header]
            if path is not None and os.path.isfile(path) and _file_digest(path) != digest:
                raise _changed_file_error("header", path)
            return
        if header.startswith("<") or header.startswith('"'):
            line = f"#include {header}"
        else:
            line = f'#include "{header}"'
        path = _user_header_file(header)
        digest = _file_digest(path) if path is not None else None
        try:
            cppyy.cppdef(line)
        except SyntaxError as exc:
            raise CompilationError(
                f"Cannot include the header {header}: {_clean(str(exc))}",
                diagnostics=str(exc),
            ) from None
        _included_headers[header] = (path, digest)


def add_include_dir(path):
    cppyy = ensure_started()
    path = os.path.abspath(path)
    with _lock:
        cppyy.add_include_path(path)
        if path not in _include_dirs:
            _include_dirs.append(path)


def load_library(name, library_dirs=()):
    """Load a shared library (by name, as for the linker's ``-l``, or by path).
    When no candidate loads, the error gives the dynamic loader's reason for
    each file tried (`_loader_reason`)."""
    cppyy = ensure_started()
    with _lock:
        key = (name, tuple(library_dirs))
        if key in _loaded_libraries:
            return
        candidates = []
        if os.path.sep in name or name.endswith(".so") or ".so." in name:
            candidates.append(name)
        for d in library_dirs:
            candidates.append(os.path.join(d, f"lib{name}.so"))
        candidates.append(f"lib{name}.so")
        candidates.append(name)
        # Fall back to ctypes' search (ld.so.conf, LD_LIBRARY_PATH)
        found = ctypes.util.find_library(name)
        if found:
            candidates.append(found)
        failures = []
        for candidate in dict.fromkeys(candidates):
            try:
                if cppyy.load_library(candidate) is not False:
                    _loaded_libraries.add(key)
                    return
                failures.append((candidate, _loader_reason(candidate, "")))
            except (RuntimeError, OSError) as exc:
                failures.append((candidate, _loader_reason(candidate, str(exc))))
        raise CompilationError(_library_error_message(name, library_dirs, failures))


_NOT_FOUND = "cannot open shared object file: No such file or directory"


def _loader_reason(candidate, cppyy_message):
    """Why ``candidate`` does not load: cppyy only says "Unable to load
    library", so ask the dynamic loader itself (``dlopen`` through ctypes,
    whose error is ``dlerror()``: missing file, wrong architecture, undefined
    symbol, ...)."""
    try:
        ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return str(exc)
    return cppyy_message or "cppyy refused it, although the dynamic loader loads it"


def _library_error_message(name, library_dirs, failures):
    """First line: the library and the most telling reason (a file that exists
    but does not load beats "no such file"); then every file tried."""
    searched = ", ".join(library_dirs) or "the default library path"
    telling = [reason for _, reason in failures if _NOT_FOUND not in reason]
    summary = telling[0] if telling else "no such library file was found"
    lines = [f"Cannot load the library '{name}' (searched {searched}): {summary}", "Tried:"]
    lines += [f"  {candidate}: {reason}" for candidate, reason in failures]
    return "\n".join(lines)


def _file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def compile_source_file(path):
    """Compile a user C++ source file into Cling once.

    Cling cannot replace the functions a file defined, so a file that changed
    since it was compiled in this process would keep running its old code:
    that is an error that names the file (the process must be restarted)."""
    cppyy = ensure_started()
    path = os.path.abspath(path)
    with _lock:
        if not os.path.exists(path):
            if path in _compiled_sources:
                return  # deleted since: its compiled code is what there is
            raise CompilationError(f"The source file '{path}' does not exist.")
        digest = _file_digest(path)
        compiled = _compiled_sources.get(path)
        if compiled == digest:
            return
        if compiled is not None:
            raise _changed_file_error("source file", path)
        try:
            cppyy.include(path)
        except (SyntaxError, ImportError) as exc:
            raise CompilationError(
                f"Cannot compile the source file '{path}':\n{_clean(str(exc))}",
                diagnostics=str(exc),
            ) from None
        _compiled_sources[path] = digest


_LOCATION = re.compile(r"input_line_\d+:(\d+):(\d+): (error|fatal error|warning): (.*)")


def _clean(message):
    """Cling's diagnostics without cppyy's preamble."""
    message = message.replace("Failed to parse the given C++ code\n", "")
    return message.strip()


def _offending_lines(diagnostics, source):
    """The (line number, source line, message) of each error."""
    src_lines = source.split("\n")
    found = []
    for match in _LOCATION.finditer(diagnostics):
        kind = match.group(3)
        if kind == "warning":
            continue
        lineno = int(match.group(1))
        text = src_lines[lineno - 1] if 0 < lineno <= len(src_lines) else ""
        found.append((lineno, text.strip(), match.group(4)))
    return found


def _log_compiler_warnings(name, caught):
    """Cling's warnings about generated code go to Brian2's debug log, not to
    the user's console (they are about Brian2's code, not the model)."""
    if not caught:
        return
    logger = get_logger(__name__)
    for w in caught:
        logger.debug(f"Cling warning in unit {name}: {_clean(str(w.message))}")


def unit_name(source):
    """The C++ namespace of a unit: a hash of its (name-independent) source."""
    return "_b2c_" + hashlib.sha1(source.encode("utf-8")).hexdigest()[:20]


def compile_unit(body, preamble="", epilogue="", dump_path=None, pragmas=("", "")):
    """Compile ``body`` inside its own namespace and return its name.

    ``preamble`` (macros and ``#include`` lines) goes before the namespace,
    ``epilogue`` (``#undef`` lines) after it; ``pragmas`` (head, tail) wrap
    the namespace (see `compiler_settings.pragmas`). Identical sources are
    compiled once per process. Raises `CompilationError` with Cling's
    diagnostics.
    """
    cppyy = ensure_started()
    head, tail = pragmas
    key_source = "\n@@\n".join([preamble, head, body, tail, epilogue])
    name = unit_name(key_source)
    with _lock:
        if name in _units:
            _stats.cache_hits += 1
            return name
        _warn_if_flags_differ()
        source = (
            f"{preamble}\n{head}\nnamespace {name} {{\n{body}\n}}  // namespace {name}\n"
            f"{tail}\n{epilogue}\n"
        )
        if dump_path is not None:
            os.makedirs(os.path.dirname(dump_path), exist_ok=True)
            with open(dump_path, "w") as f:
                f.write(source)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SyntaxWarning)
                cppyy.cppdef(source)
            _log_compiler_warnings(name, caught)
        except SyntaxError as exc:
            _stats.failed += 1
            diagnostics = _clean(str(exc))
            raise CompilationError(
                diagnostics,
                diagnostics=diagnostics,
                lines=_offending_lines(str(exc), source),
            ) from None
        finally:
            _stats.compile_seconds += time.perf_counter() - start
        _units.add(name)
        _stats.compiled += 1
        return name


#: unit namespace -> address of its kernel
_kernel_addresses = {}


def compile_kernel(body, preamble="", epilogue="", dump_path=None, pragmas=("", "")):
    """Compile a unit that defines ``int64_t _kernel(brian2cppyy::Slot*)``
    and return the address of the kernel. The unit hands the address
    over through a static initialiser (no cppyy call, so no wrapper for Cling
    to compile)."""
    body = (
        f"{body}\n"
        "static const bool _kernel_registered =\n"
        "    brian2cppyy::register_kernel(reinterpret_cast<intptr_t>(&_kernel));\n"
    )
    with _lock:
        name = compile_unit(body, preamble, epilogue, dump_path, pragmas)
        address = _kernel_addresses.get(name)
        if address is None:
            address = int(_exchange[_slot["LAST_KERNEL"]])
            if not address:
                raise CompilationError(f"The unit {name} did not register its kernel.")
            _exchange[_slot["LAST_KERNEL"]] = 0
            _kernel_addresses[name] = address
    return address


def guarded_call_address():
    """Address of ``brian2cppyy::guarded_kernel_call`` (fault_guard.hpp)."""
    ensure_started()
    return int(_exchange[_slot["GUARDED_CALL"]])


def install_fault_handlers_address():
    """Address of ``brian2cppyy::install_fault_handlers`` (fault_guard.hpp)."""
    ensure_started()
    return int(_exchange[_slot["INSTALL_FAULT_HANDLERS"]])


def network_loop_address():
    """Address of ``brian2cppyy::run_network_loop``."""
    ensure_started()
    return int(_exchange[_slot["NETWORK_LOOP"]])


def capsule_name(capsule):
    """The name a PyCapsule was created with."""
    get = ctypes.pythonapi.PyCapsule_GetName
    get.restype = ctypes.c_char_p
    get.argtypes = [ctypes.py_object]
    name = get(capsule)
    return name.decode("ascii") if name is not None else None


def capsule_pointer(capsule, name):
    """The address stored in a PyCapsule (Brian2's dynamic arrays, spike queue)."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get(capsule, name.encode("ascii"))
