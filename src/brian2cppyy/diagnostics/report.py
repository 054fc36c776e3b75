"""The report of ``python -m brian2cppyy info`` as a dict (`info`): the
versions (brian2cppyy, Brian2, numpy, cppyy, cppyy-cling and the Clang inside
it), the flags passed to Cling, the compiler settings requested and applied
(`compiler_probes`), the health of the precompiled header (PCH) that Cling
loads, the cache directory, and the self-test (`self_test`). Cling starts, and
the probes and the self-test run, in a child process (`child`); this module
puts what the child said next to what this process knows.
"""

import os
import platform

__all__ = ["info"]


def _version(distribution):
    from ..cling.precompiled_header import distribution_version

    return distribution_version(distribution, missing=None)


def _versions():
    import brian2
    import numpy

    import brian2cppyy

    return {
        "brian2cppyy": brian2cppyy.__version__,
        "brian2": brian2.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        **{name: _version(name)
           for name in ("cppyy", "cppyy-cling", "cppyy-backend", "CPyCppyy")},
    }


def _cache_directory():
    """The cache directory, its number of files and their size."""
    from ..preferences import cache_dir

    path = cache_dir()
    files = sorted(os.listdir(path)) if os.path.isdir(path) else []
    sizes = [os.path.getsize(os.path.join(path, f)) for f in files
             if os.path.isfile(os.path.join(path, f))]
    return {"dir": path, "files": len(files), "size_mb": sum(sizes) / 2**20}


def _pch_report(path, start_warnings, stderr, started):
    """The precompiled header's path, size and problems: unreadable, a
    warning when Cling started, Cling's messages about it, or no start."""
    from ..cling import precompiled_header

    pch = {"path": path, "healthy": False, "problems": []}
    if path is None:
        pch["problems"].append(
            "no precompiled header (CLING_STANDARD_PCH is 'none' or cppyy has none)"
        )
    else:
        problem = precompiled_header.problem(path)
        if problem is None:
            pch["size_mb"] = os.path.getsize(path) / 2**20
        else:
            pch["problems"].append(f"{path}: {problem}")
    for message in start_warnings:
        if "precompiled header" in message.lower():
            pch["problems"].append(f"warning when Cling started: {message}")
    for line in (stderr or "").splitlines():
        lowered = line.lower()
        if "pch" in lowered or "precompiled" in lowered or "ast file" in lowered:
            pch["problems"].append(f"Cling: {line.strip()}")
    if not started:
        pch["problems"].append("Cling did not start")
    pch["healthy"] = not pch["problems"]
    return pch


def _essential_lines(text):
    """Cling's messages, without the stack trace it prints when it crashes
    (everything after its ``*** Break ***`` line)."""
    kept = []
    for line in text.splitlines():
        if line.strip():
            kept.append(line.rstrip())
        if "*** Break ***" in line:
            break
    return kept


def _add_child_report(report, child, error, stderr, run_self_test):
    """Cling, the settings, the self-test and the PCH, from the child's
    report (or from why there is none)."""
    from ..cling import precompiled_header
    from .compiler_probes import requested_settings, settings_rows

    requested = requested_settings()
    if child is not None:
        report["cling"] = dict(child["cling"], start_seconds=child["cling_start_seconds"])
        report["self_test"] = child.get("self_test")
        report["settings"] = settings_rows(requested, child.get("applied", {}))
        pch_path, start_warnings = child["cling"].get("pch"), child["start_warnings"]
    else:
        report["cling"] = {
            "error": error, "stderr": "\n".join(_essential_lines(stderr or "")[-40:])
        }
        report["self_test"] = (
            {"ok": False, "message": f"not run: {error}"} if run_self_test else None
        )
        report["settings"] = settings_rows(requested, {})
        pch_path, start_warnings = precompiled_header.expected_path(), []
    report["pch"] = _pch_report(pch_path, start_warnings, stderr, child is not None)


def info(run_self_test=True, timeout=600):
    """Collect the diagnostics as a dict (see the module docstring). Cling
    starts, and the self-test runs, in a child process with this process's
    ``codegen.runtime.cppyy`` preferences and environment."""
    import brian2cppyy

    from .. import analysis_cache
    from ..preferences import cling_flags
    from .child import run_child

    report = {
        "versions": _versions(),
        "package_dir": os.path.dirname(os.path.abspath(brian2cppyy.__file__)),
        "requested_flags": cling_flags(),
        "cache": _cache_directory(),
    }
    child, error, stderr = run_child(timeout, run_self_test)
    report["analysis_cache"] = analysis_cache.report(child)
    if child is not None and "start_error" in child:
        child, error = None, child["start_error"]
    _add_child_report(report, child, error, stderr, run_self_test)
    report["ok"] = child is not None and (not run_self_test or bool(report["self_test"]["ok"]))
    return report
