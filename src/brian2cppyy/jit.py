"""The one module that talks to cppyy: Cling flags, include paths, the runtime
header, compilation of kernel units (each in its own C++ namespace), the
process-wide cache of compiled units, and the translation of Cling's
diagnostics into Python exceptions.

Cling starts on the first compilation, not when ``brian2cppyy`` is imported.
"""

import ctypes
import ctypes.util
import hashlib
import os
import re
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
    "cling_info",
]

_INCLUDE_DIR = os.path.join(os.path.dirname(__file__), "include")

#: Serialises everything that touches Cling (it is not thread-safe).
_lock = threading.RLock()
_cppyy = None
_started_flags = None
#: source hash -> compiled unit (the C++ namespace proxy)
_units = {}
_included_headers = set()
_loaded_libraries = set()
_compiled_sources = set()
_refill_callback = None  # keeps the ctypes callback alive
_pending_error = None  # an exception raised by a callback during a kernel
#: brian2cppyy::exchange (runtime.hpp), read and written through ctypes
_exchange = None
_EXCHANGE_LAST_KERNEL, _EXCHANGE_NETWORK_LOOP, _EXCHANGE_REFILL_CALLBACK = 0, 1, 2
_EXCHANGE_SIZE = 4


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


def _refill(kind, address, size):
    """Called from C++ when a random buffer's index wraps around to 0: refill
    the buffer in place from numpy's generator, as the Cython target does."""
    try:
        buffer = np.ctypeslib.as_array(
            ctypes.cast(address, ctypes.POINTER(ctypes.c_double)), shape=(size,)
        )
        buffer[:] = np.random.rand(size) if kind == 0 else np.random.randn(size)
        return 0
    except BaseException as exc:  # never let a Python error unwind through C++
        global _pending_error
        _pending_error = exc
        return -1


def raise_pending_error():
    """Raise an exception that a Python callback stored during a kernel."""
    global _pending_error
    if _pending_error is not None:
        exc, _pending_error = _pending_error, None
        raise exc


# Status codes of kernels (see brian2cppyy::Status in runtime.hpp)
ERR_INDEX = -1
ERR_SAMPLE_SIZE = -2
ERR_INTERRUPTED = -3
ERR_CALLBACK = -4
ERR_INVALID_VALUE = -5
ERR_NEGATIVE_SAMPLE_SIZE = -6
ERR_CPP_EXCEPTION = -7

_STATUS_MESSAGES = {
    ERR_INDEX: "index out of range",
    ERR_SAMPLE_SIZE: "sample size bigger than the population",
    ERR_INTERRUPTED: "interrupted",
    ERR_CALLBACK: "a Python callback failed",
    ERR_INVALID_VALUE: "invalid value",
    ERR_NEGATIVE_SAMPLE_SIZE: "negative sample size",
    ERR_CPP_EXCEPTION: "a C++ exception",
}


def last_cpp_exception_message():
    """The message of the last C++ exception a kernel caught."""
    return str(ensure_started().gbl.brian2cppyy.last_error_message())


def status_message(status):
    return _STATUS_MESSAGES.get(int(status), f"status {status}")


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
                from brian2.utils.logger import get_logger

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

        global _exchange
        _exchange = (ctypes.c_int64 * _EXCHANGE_SIZE).from_address(
            cppyy.ll.addressof(cppyy.gbl.brian2cppyy.exchange)
        )
        _exchange[_EXCHANGE_REFILL_CALLBACK] = ctypes.cast(
            _refill_callback, ctypes.c_void_p
        ).value
        _started_flags = os.environ.get("EXTRA_CLING_ARGS", flags)
        _cppyy = cppyy
    return _cppyy


def cling_info():
    """Flags and versions of the running Cling (starts it if needed)."""
    cppyy = ensure_started()
    return {
        "flags": _started_flags,
        "cppyy": getattr(cppyy, "__version__", "unknown"),
    }


def include_header(header):
    """``#include`` a header into Cling once (``<a.h>``, ``"a.h"`` or ``a.h``)."""
    cppyy = ensure_started()
    header = header.strip()
    with _lock:
        if header in _included_headers:
            return
        if header.startswith("<") or header.startswith('"'):
            line = f"#include {header}"
        else:
            line = f'#include "{header}"'
        try:
            cppyy.cppdef(line)
        except SyntaxError as exc:
            raise CompilationError(
                f"Cannot include the header {header}: {_clean(str(exc))}",
                diagnostics=str(exc),
            ) from None
        _included_headers.add(header)


def add_include_dir(path):
    cppyy = ensure_started()
    with _lock:
        cppyy.add_include_path(os.path.abspath(path))


def load_library(name, library_dirs=()):
    """Load a shared library (by name, as for the linker's ``-l``, or by path)."""
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
        errors = []
        for candidate in candidates:
            try:
                if cppyy.load_library(candidate) is not False:
                    _loaded_libraries.add(key)
                    return
            except (RuntimeError, OSError) as exc:
                errors.append(str(exc))
        # Fall back to ctypes' search (ld.so.conf, LD_LIBRARY_PATH)
        found = ctypes.util.find_library(name)
        if found:
            try:
                ctypes.CDLL(found, mode=ctypes.RTLD_GLOBAL)
                cppyy.load_library(found)
                _loaded_libraries.add(key)
                return
            except (RuntimeError, OSError) as exc:
                errors.append(str(exc))
        raise CompilationError(
            f"Cannot load the library '{name}' (searched "
            f"{', '.join(library_dirs) or 'the default library path'})."
        )


def compile_source_file(path):
    """Compile a user C++ source file into Cling once."""
    cppyy = ensure_started()
    path = os.path.abspath(path)
    with _lock:
        if path in _compiled_sources:
            return
        if not os.path.exists(path):
            raise CompilationError(f"The source file '{path}' does not exist.")
        try:
            cppyy.include(path)
        except (SyntaxError, ImportError) as exc:
            raise CompilationError(
                f"Cannot compile the source file '{path}':\n{_clean(str(exc))}",
                diagnostics=str(exc),
            ) from None
        _compiled_sources.add(path)


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
    from brian2.utils.logger import get_logger

    logger = get_logger(__name__)
    for w in caught:
        logger.debug(f"Cling warning in unit {name}: {_clean(str(w.message))}")


def unit_name(source):
    """The C++ namespace of a unit: a hash of its (name-independent) source."""
    return "_b2c_" + hashlib.sha1(source.encode("utf-8")).hexdigest()[:20]


def compile_unit(body, preamble="", epilogue="", dump_path=None):
    """Compile ``body`` inside its own namespace and return the namespace proxy.

    ``preamble`` (macros and ``#include`` lines) goes before the namespace,
    ``epilogue`` (``#undef`` lines) after it. Identical sources are compiled
    once per process. Raises `CompilationError` with Cling's diagnostics.
    """
    cppyy = ensure_started()
    key_source = preamble + "\n@@\n" + body + "\n@@\n" + epilogue
    name = unit_name(key_source)
    with _lock:
        unit = _units.get(name)
        if unit is not None:
            _stats.cache_hits += 1
            return unit
        pragma = ""
        source = (
            f"{preamble}\n{pragma}namespace {name} {{\n{body}\n}}  // namespace {name}\n"
            f"{epilogue}\n"
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
        unit = getattr(cppyy.gbl, name)
        _units[name] = unit
        _stats.compiled += 1
        return unit


#: unit namespace -> address of its kernel
_kernel_addresses = {}


def compile_kernel(body, preamble="", epilogue="", dump_path=None):
    """Compile a unit that defines ``int64_t _kernel(brian2cppyy::Slot*)``
    and return ``(address of the kernel, unit)``. The unit hands the address
    over through a static initialiser (no cppyy call, so no wrapper for Cling
    to compile)."""
    body = (
        f"{body}\n"
        "static const bool _kernel_registered =\n"
        "    brian2cppyy::register_kernel(reinterpret_cast<intptr_t>(&_kernel));\n"
    )
    with _lock:
        unit = compile_unit(body, preamble, epilogue, dump_path)
        name = unit.__cpp_name__
        address = _kernel_addresses.get(name)
        if address is None:
            address = int(_exchange[_EXCHANGE_LAST_KERNEL])
            if not address:
                raise CompilationError(f"The unit {name} did not register its kernel.")
            _exchange[_EXCHANGE_LAST_KERNEL] = 0
            _kernel_addresses[name] = address
    return address, unit


def network_loop_address():
    """Address of ``brian2cppyy::run_network_loop``."""
    ensure_started()
    return int(_exchange[_EXCHANGE_NETWORK_LOOP])


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
