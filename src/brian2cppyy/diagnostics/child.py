"""The child process of ``python -m brian2cppyy info``: Cling starts, the
compiler-setting probes and the self-test run there, so that a broken
installation (Cling crashes on an unusable precompiled header) is reported
rather than taking the report down.

The parent hands its preferences to the child in an environment variable
(JSON) and reads one JSON line back, marked by `_MARKER`; anything else the
child prints, its standard error included, goes back to the parent as text.
"""

import json
import os
import subprocess
import sys
import time
import warnings

__all__ = ["run_child", "child_main"]

#: the environment variable that hands the parent's preferences to the child
_PREFS_ENV = "BRIAN2CPPYY_DIAGNOSTICS_PREFS"
#: "0": the child only starts Cling (and runs the probes)
_SELF_TEST_ENV = "BRIAN2CPPYY_DIAGNOSTICS_SELF_TEST"
#: the start of the line that carries the child's report
_MARKER = "BRIAN2CPPYY_DIAGNOSTICS "
#: the preferences that decide how Cling starts and how kernels are compiled
_CHILD_PREFS = (
    "codegen.runtime.cppyy.optimisation_level",
    "codegen.runtime.cppyy.fast_math",
    "codegen.runtime.cppyy.extra_cling_args",
    "codegen.runtime.cppyy.threads",
    "codegen.runtime.cppyy.cache_dir",
    "codegen.runtime.cppyy.analysis_cache",
    "codegen.runtime.cppyy.analysis_cache_size",
    "codegen.cpp.extra_compile_args_gcc",
)


def _started_report():
    """Start Cling, watching for warnings; then probe the settings and run
    the self-test (unless the parent said not to)."""
    import brian2cppyy

    from .. import analysis_cache
    from ..cling import runtime
    from .compiler_probes import run_probes
    from .self_test import self_test

    report = {}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runtime.ready()
    except Exception as exc:  # noqa: BLE001 - reported
        report["start_error"] = f"{type(exc).__name__}: {exc}"
        return report
    report["cling_start_seconds"] = time.perf_counter() - start
    report["start_warnings"] = [str(w.message) for w in caught]
    report["cling"] = runtime.info()
    report["applied"] = run_probes()
    if os.environ.get(_SELF_TEST_ENV) != "0":
        report["self_test"] = self_test()
    report["cache_info"] = brian2cppyy.cache_info()
    report["analysis_cache"] = analysis_cache.info()
    return report


def child_main():
    """In the child process: apply the parent's preferences, then print the
    report as one JSON line."""
    from brian2 import prefs

    for key, value in json.loads(os.environ.get(_PREFS_ENV, "{}")).items():
        prefs[key] = value
    print(_MARKER + json.dumps(_started_report()), flush=True)


def _child_environment(run_self_test):
    """This process's environment, with its preferences and this copy of the
    package first on the path."""
    from brian2 import prefs

    env = dict(os.environ)
    env[_SELF_TEST_ENV] = "1" if run_self_test else "0"
    env[_PREFS_ENV] = json.dumps({key: prefs[key] for key in _CHILD_PREFS})
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return env


def run_child(timeout, run_self_test):
    """``(report, error, stderr)``: the child's report (None if it gave
    none), why it gave none, and its standard error."""
    command = [sys.executable, "-c",
               "from brian2cppyy.diagnostics.child import child_main; child_main()"]
    try:
        proc = subprocess.run(command, env=_child_environment(run_self_test),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"the child process did not finish within {timeout} s", ""
    for line in proc.stdout.splitlines():
        if line.startswith(_MARKER):
            return json.loads(line[len(_MARKER):]), None, proc.stderr
    if proc.returncode < 0:
        how = f"was killed by signal {-proc.returncode}"
    else:
        how = f"exited with status {proc.returncode}"
    return None, f"the child process that starts Cling {how}", proc.stderr
