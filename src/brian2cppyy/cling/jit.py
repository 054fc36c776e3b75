"""Compiling kernel units in Cling: each unit in a C++ namespace of its own,
compiled once per process (a cache keyed by a hash of its source), with
Cling's diagnostics turned into `CompilationError` and counters for users
(`stats`).

A kernel unit defines ``int64_t _kernel(brian2cppyy::Slot*)`` and hands its
address over through a static initialiser (`compile_kernel`): no cppyy call,
so no wrapper for Cling to compile. Starting Cling is `cling`'s job; what
users' functions load (headers, libraries, sources) is `user_code`'s.
"""

import hashlib
import os
import re
import time
from dataclasses import dataclass

from . import contract, runtime
from ..log import get_logger

__all__ = ["CompilationError", "compile_unit", "compile_kernel", "compile_runtime_unit",
           "stats", "compiled_units"]

#: names (C++ namespaces) of the units compiled in this process
_units = set()
#: unit namespace -> address of its kernel
_kernel_addresses = {}


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


def compiled_units():
    """How many units and kernels this process has compiled."""
    return {"units": len(_units), "kernels": len(_kernel_addresses)}


class CompilationError(Exception):
    """Cling rejected C++ code: ``diagnostics`` (Cling's messages) and
    ``lines`` (line number, source line, message) of each error."""

    def __init__(self, message, diagnostics="", lines=()):
        super().__init__(message)
        self.diagnostics = diagnostics
        self.lines = tuple(lines)


_LOCATION = re.compile(r"input_line_\d+:(\d+):(\d+): (error|fatal error|warning): (.*)")


def clean_diagnostics(message):
    """Cling's diagnostics without cppyy's preamble."""
    message = message.replace("Failed to parse the given C++ code\n", "")
    return message.strip()


def _offending_lines(diagnostics, source):
    """The (line number, source line, message) of each error."""
    src_lines = source.split("\n")
    found = []
    for match in _LOCATION.finditer(diagnostics):
        if match.group(3) == "warning":
            continue
        lineno = int(match.group(1))
        text = src_lines[lineno - 1] if 0 < lineno <= len(src_lines) else ""
        found.append((lineno, text.strip(), match.group(4)))
    return found


def _log_compiler_warnings(name, diagnostics):
    """Cling's warnings about generated code go to Brian2's debug log, not to
    the user's console (they are about Brian2's code, not the model)."""
    if diagnostics:
        get_logger(__name__).debug(
            f"Cling warning in unit {name}: {clean_diagnostics(diagnostics)}")


def unit_name(source):
    """The C++ namespace of a unit: a hash of its (name-independent) source."""
    return "_b2c_" + hashlib.sha1(source.encode("utf-8")).hexdigest()[:20]


def _dump(source, dump_path):
    os.makedirs(os.path.dirname(dump_path), exist_ok=True)
    with open(dump_path, "w") as f:
        f.write(source)


def compile_unit(body, preamble="", epilogue="", dump_path=None, pragmas=("", "")):
    """Compile ``body`` inside its own namespace and return its name.

    ``preamble`` (macros and ``#include`` lines) goes before the namespace,
    ``epilogue`` (``#undef`` lines) after it; ``pragmas`` (head, tail) wrap
    the namespace (see `compiler_settings.pragmas`). Identical sources are
    compiled once per process. Raises `CompilationError` with Cling's
    diagnostics.
    """
    head, tail = pragmas
    name = unit_name("\n@@\n".join([preamble, head, body, tail, epilogue]))
    source = (
        f"{preamble}\n{head}\nnamespace {name} {{\n{body}\n}}  // namespace {name}\n"
        f"{tail}\n{epilogue}\n"
    )
    return _compile_once(name, source, dump_path)


def compile_runtime_unit(source):
    """Compile ``source`` as it is (no namespace of its own: it adds to the
    runtime's namespaces, see `runtime_support`), once per process. Raises
    `CompilationError` with Cling's diagnostics."""
    _compile_once(unit_name(source), source)


def _compile_once(name, source, dump_path=None):
    """Have Cling compile ``source`` unless the unit ``name`` was compiled in
    this process; returns ``name``. The source goes to ``dump_path`` either
    way: a user who sets ``dump_dir`` sees every block of their model, also
    those identical to one compiled earlier in the process."""
    runtime.ready()  # on the main thread: waits for the compile thread
    with runtime.lock:
        if dump_path is not None:
            _dump(source, dump_path)
        if name in _units:
            _stats.cache_hits += 1
            return name
        runtime.warn_if_flags_differ()
        start = time.perf_counter()
        try:
            compiled, diagnostics = runtime.declare(source)
        finally:
            _stats.compile_seconds += time.perf_counter() - start
        errors = _offending_lines(diagnostics, source)
        if not compiled or errors:
            _stats.failed += 1
            cleaned = clean_diagnostics(diagnostics)
            raise CompilationError(cleaned or "Cling could not compile the unit.",
                                   diagnostics=cleaned, lines=errors)
        _log_compiler_warnings(name, diagnostics)
        _units.add(name)
        _stats.compiled += 1
        return name


def compile_kernel(body, preamble="", epilogue="", dump_path=None, pragmas=("", "")):
    """Compile a unit (as `compile_unit`) that defines ``int64_t
    _kernel(brian2cppyy::Slot*)`` and return the kernel's address, which the
    unit hands over through ``entry_points.last_kernel`` (`contract`)."""
    body = (
        f"{body}\n"
        "static const bool _kernel_registered = brian2cppyy::register_kernel(&_kernel);\n"
    )
    runtime.ready()  # outside the lock: it may wait for the compile thread, which takes it
    with runtime.lock:
        name = compile_unit(body, preamble, epilogue, dump_path, pragmas)
        address = _kernel_addresses.get(name)
        if address is None:
            entry_points = contract.entry_points()
            address = contract.address_of(entry_points.last_kernel)
            if not address:
                raise CompilationError(f"The unit {name} did not register its kernel.")
            entry_points.last_kernel = contract.KERNEL_FUNCTION()
            _kernel_addresses[name] = address
    return address
