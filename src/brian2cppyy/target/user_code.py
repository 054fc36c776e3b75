"""What users' C++ functions bring along into Cling: include directories,
headers, shared libraries and source files (the ``compiler_kwds`` of
``@implementation('cpp', ...)`` and Brian2's ``codegen.cpp.*`` preferences).

Each is loaded once per process. Cling cannot replace code it has compiled,
so a user's header or source file that changed after it was loaded would
keep running its old version: that is an error naming the file (restart the
process). A library that does not load is reported with the dynamic loader's
own reason for each file tried.
"""

import ctypes
import ctypes.util
import hashlib
import os

from ..cling import jit, runtime
from ..cling.jit import CompilationError, clean_diagnostics

__all__ = ["load", "include_header", "add_include_dir", "load_library",
           "compile_source_file", "counts", "cache_info"]

#: each header included into Cling -> (the user's file it resolved to, the
#: hash of its contents), or (None, None) for a header outside the user's dirs
_included_headers = {}
#: the include directories added for users' code, in order
_include_dirs = []
#: (name, library dirs) of each library loaded
_loaded_libraries = set()
#: path of each user source file compiled into Cling -> hash of its contents
_compiled_sources = {}

_NOT_FOUND = "cannot open shared object file: No such file or directory"


def load(include_dirs=(), library_dirs=(), libraries=(), headers=(), sources=()):
    """Load everything a piece of user code needs, in the order a compiler
    would see it: include directories, libraries, headers, source files."""
    for path in include_dirs:
        add_include_dir(path)
    for library in libraries:
        load_library(library, library_dirs)
    for header in headers:
        include_header(header)
    for source in sources:
        compile_source_file(source)


def counts():
    """How many user headers, libraries and source files are loaded."""
    return {
        "headers": len(_included_headers),
        "libraries": len(_loaded_libraries),
        "sources": len(_compiled_sources),
    }


def cache_info():
    """The in-process cache of compiled code, as a dict (``brian2cppyy.cache_info()``):
    ``units`` (C++ units in the cache), ``kernels`` (kernels among them),
    ``compiled``, ``cache_hits``, ``failed``, ``compile_seconds`` (as in
    ``jit.stats``), ``headers``, ``libraries``, ``sources`` (user headers,
    libraries and source files loaded into Cling, `counts`) and ``started``
    (whether Cling runs). Compiled code stays in Cling until the process
    ends."""
    with runtime.lock:
        info = jit.compiled_units()
        info.update(counts())
        info["started"] = runtime.started()
        info.update(jit.stats())
    return info


def _file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _changed_file_error(kind, path):
    return CompilationError(
        f"The {kind} '{path}' has changed since it was compiled into Cling in "
        "this process. Cling cannot replace the code it defines, so the old "
        "version would keep running: restart the Python process to use the new "
        "version."
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


def include_header(header):
    """``#include`` a header into Cling once (``<a.h>``, ``"a.h"`` or ``a.h``).
    A user's header file that changed after its inclusion is an error (as for
    `compile_source_file`): Cling would keep the old definitions."""
    cppyy = runtime.start()
    header = header.strip()
    with runtime.lock:
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
                f"Cannot include the header {header}: {clean_diagnostics(str(exc))}",
                diagnostics=str(exc),
            ) from None
        _included_headers[header] = (path, digest)


def add_include_dir(path):
    """Add a directory to Cling's include path (once), after everything
    handed to Cling before: on the compile thread when kernels compile there
    (`runtime.in_order`), so that Python does not wait for it."""
    path = os.path.abspath(path)
    if path in _include_dirs:
        return
    _include_dirs.append(path)
    runtime.in_order(runtime.add_include_path, path)


def load_library(name, library_dirs=()):
    """Load a shared library (by name, as for the linker's ``-l``, or by path).
    When no candidate loads, the error gives the dynamic loader's reason for
    each file tried (`_loader_reason`)."""
    cppyy = runtime.start()
    with runtime.lock:
        key = (name, tuple(library_dirs))
        if key in _loaded_libraries:
            return
        failures = []
        for candidate in _library_candidates(name, library_dirs):
            try:
                if cppyy.load_library(candidate) is not False:
                    _loaded_libraries.add(key)
                    return
                failures.append((candidate, _loader_reason(candidate, "")))
            except (RuntimeError, OSError) as exc:
                failures.append((candidate, _loader_reason(candidate, str(exc))))
        raise CompilationError(_library_error_message(name, library_dirs, failures))


def _library_candidates(name, library_dirs):
    """The files to try for library ``name``, most specific first."""
    candidates = []
    if os.path.sep in name or name.endswith(".so") or ".so." in name:
        candidates.append(name)
    candidates += [os.path.join(d, f"lib{name}.so") for d in library_dirs]
    candidates += [f"lib{name}.so", name]
    found = ctypes.util.find_library(name)  # ld.so.conf, LD_LIBRARY_PATH
    if found:
        candidates.append(found)
    return list(dict.fromkeys(candidates))


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


def compile_source_file(path):
    """Compile a user C++ source file into Cling once.

    Cling cannot replace the functions a file defined, so a file that changed
    since it was compiled in this process would keep running its old code:
    that is an error that names the file (the process must be restarted)."""
    cppyy = runtime.start()
    path = os.path.abspath(path)
    with runtime.lock:
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
                f"Cannot compile the source file '{path}':\n{clean_diagnostics(str(exc))}",
                diagnostics=str(exc),
            ) from None
        _compiled_sources[path] = digest
