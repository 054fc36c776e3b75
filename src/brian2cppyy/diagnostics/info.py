"""Diagnostics of the cppyy target: ``python -m brian2cppyy info``.

Reports the versions (brian2cppyy, Brian2, numpy, cppyy, cppyy-cling and the
Clang inside it), the flags passed to Cling, the compiler settings that the
preferences request next to those that reach the compiled code, the health
of the precompiled header (PCH) that Cling loads, the cache directory, and
runs a self-test: a tiny network built and run on the ``'cppyy'`` target,
checked against the analytic solution, timed phase by phase (build, first
run, run) with Cling's share of each phase, so that the figures add up.

Requested versus applied: a setting asked for is not necessarily applied
(Cling ignores ``-O...`` and ``-ffast-math`` in ``EXTRA_CLING_ARGS``; the
kernels get them per unit, see `brian2cppyy.cling.compiler_settings`), so each
setting is observed by a probe in a kernel that the child compiles as the
code objects compile theirs (`APPLIED_PROBES`; further probes through
`register_applied_probe`); a setting without a probe is reported as "not
verified", never as "in use".

Cling starts and the self-test runs in a child process, so that a broken
installation (Cling crashes on an unusable PCH) is reported rather than
taking the report down; `info` returns the report as a dict, `format_report`
renders it, `main` is the command line. `self_test` runs the self-test in the
current process.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

__all__ = [
    "info", "format_report", "format_settings", "self_test", "main",
    "requested_settings", "register_applied_probe", "settings_rows",
]

#: the environment variable that hands the parent's preferences to the child
_PREFS_ENV = "BRIAN2CPPYY_DIAGNOSTICS_PREFS"
#: the preferences that decide how Cling starts and how kernels are compiled
_CHILD_PREFS = (
    "codegen.runtime.cppyy.optimisation_level",
    "codegen.runtime.cppyy.fast_math",
    "codegen.runtime.cppyy.extra_cling_args",
    "codegen.runtime.cppyy.cache_dir",
    "codegen.runtime.cppyy.analysis_cache",
    "codegen.runtime.cppyy.analysis_cache_size",
    "codegen.cpp.extra_compile_args_gcc",
)
#: "0": the child only starts Cling
_SELF_TEST_ENV = "BRIAN2CPPYY_DIAGNOSTICS_SELF_TEST"


def _version(distribution):
    from ..cling.precompiled_header import distribution_version

    return distribution_version(distribution, missing=None)


class _Phases:
    """Wall time and Cling's share of it, phase by phase. Phases follow each
    other without a gap, so their figures add up to the totals."""

    def __init__(self):
        from ..cling import jit

        self._jit = jit
        self.rows = []
        self._start = time.perf_counter()
        self._stats = jit.stats()

    def end(self, name):
        """Close the phase that started where the previous one ended."""
        now, stats = time.perf_counter(), self._jit.stats()
        self.rows.append({
            "name": name,
            "seconds": now - self._start,
            "compile_seconds": stats["compile_seconds"] - self._stats["compile_seconds"],
            "kernels_compiled": stats["compiled"] - self._stats["compiled"],
            "kernels_cached": stats["cache_hits"] - self._stats["cache_hits"],
        })
        self._start, self._stats = now, stats

    def totals(self):
        return {key: sum(row[key] for row in self.rows)
                for key in ("seconds", "compile_seconds", "kernels_compiled", "kernels_cached")}


#: the phases of the self-test, in order
SELF_TEST_PHASES = ("build", "first run", "run")


def self_test(duration_ms=20.0):
    """Build and run a small network on the cppyy target in this process and
    check it against the exact solution. Returns a dict: ``ok``, ``message``
    and ``phases``, one dict per phase of `SELF_TEST_PHASES` (``build``:
    objects, initial values and connect; ``first run``: a run of 0 ms, i.e.
    code generation and compilation of the run kernels; ``run``: the
    simulation) with its wall time ``seconds`` and the share of it that Cling
    spent compiling (``compile_seconds``, ``kernels_compiled``, and
    ``kernels_cached``: requests answered from the in-process cache). The
    totals over the phases are in ``seconds``, ``compile_seconds``,
    ``kernels_compiled`` and ``kernels_cached``. Leaves the user's
    preferences, default clock and magic network alone (explicit `Network`,
    own clock, unique names)."""
    import numpy as np
    from brian2 import (
        Clock, Network, NeuronGroup, SpikeMonitor, Synapses, ms, prefs,
    )

    saved = {
        key: prefs[key]
        for key in ("codegen.target", "codegen.string_expression_target")
    }
    result = {"ok": False, "message": ""}
    try:
        prefs["codegen.target"] = "cppyy"
        prefs["codegen.string_expression_target"] = "cppyy"
        phases = _Phases()
        clock = Clock(dt=0.1 * ms, name="brian2cppyy_selftest_clock*")
        # v relaxes to I: neurons with I > 1 fire at tau*log(I/(I-1)), then reset
        group = NeuronGroup(
            8, "dv/dt = (I - v)/tau : 1\nI : 1 (constant)", threshold="v > 1",
            reset="v = 0", method="exact", clock=clock,
            name="brian2cppyy_selftest_group*",
        )
        group.I = "0.5 + 0.25*i"
        counter = NeuronGroup(1, "n : integer", clock=clock,
                              name="brian2cppyy_selftest_counter*")
        synapses = Synapses(group, counter, on_pre="n_post += 1", clock=clock,
                            name="brian2cppyy_selftest_synapses*")
        synapses.connect()
        spikes = SpikeMonitor(group, name="brian2cppyy_selftest_spikes*")
        net = Network(group, counter, synapses, spikes,
                      name="brian2cppyy_selftest_network*")
        namespace = {"tau": 10 * ms}
        phases.end("build")
        net.run(0 * ms, namespace=namespace)
        phases.end("first run")
        net.run(duration_ms * ms, namespace=namespace)
        phases.end("run")
        result["phases"] = phases.rows
        result.update(phases.totals())

        # the exact solution: first spike of neuron i at tau*log(I/(I-1))
        tau, dt, T = 0.010, 0.0001, duration_ms / 1000.0
        I = 0.5 + 0.25 * np.arange(8)
        problems = []
        for i in range(8):
            times = np.asarray(spikes.t_[spikes.i[:] == i])
            if I[i] <= 1 or tau * np.log(I[i] / (I[i] - 1)) > T - dt:
                expected_v = I[i] * (1 - np.exp(-T / tau))
                if len(times) or abs(group.v[i] - expected_v) > 1e-9:
                    problems.append(f"neuron {i}: v={group.v[i]:.6g}, expected {expected_v:.6g}")
                continue
            period = tau * np.log(I[i] / (I[i] - 1))
            if not len(times) or abs(times[0] - period) > dt + 1e-12:
                problems.append(f"neuron {i}: first spike {times[:1]}, expected {period:.6g} s")
        if int(counter.n[0]) != spikes.num_spikes:
            problems.append(
                f"the synapses counted {int(counter.n[0])} spikes, the monitor {spikes.num_spikes}"
            )
        if problems:
            result["message"] = "wrong results: " + "; ".join(problems)
        else:
            result["ok"] = True
            result["message"] = (
                f"8 neurons, {len(synapses)} synapses and a spike monitor ran "
                f"{duration_ms:g} ms; {spikes.num_spikes} spikes at the exact times"
            )
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        result["message"] = f"{type(exc).__name__}: {exc}"
        cause = exc.__cause__ or exc.__context__
        if cause is not None:
            result["message"] += f" (caused by {type(cause).__name__}: {cause})"
    finally:
        for key, value in saved.items():
            prefs[key] = value
    return result


# -- compiler settings: what the preferences ask for, what reaches the code --


def requested_settings():
    """The compiler settings that the preferences ask for, as ``{setting:
    (value, where it comes from)}``: ``optimisation_level`` and ``fast_math``
    (`brian2cppyy.cling.compiler_settings`: our preferences, or Brian2's C++ flags)
    and ``extra_cling_args``."""
    from brian2 import prefs

    from ..cling import compiler_settings

    settings = compiler_settings.current()
    return {
        "optimisation_level": (settings.requested_level, settings.level_source),
        "fast_math": (settings.fast_math, settings.fast_math_source),
        "extra_cling_args": (list(prefs["codegen.runtime.cppyy.extra_cling_args"]),
                             "codegen.runtime.cppyy.extra_cling_args"),
    }


#: A kernel compiled as the code objects compile theirs (same pragmas); bit 1
#: of its result: the optimiser folded ``__builtin_constant_p`` of an inlined
#: constant (never at level 0); bit 2: ``(a + b) - b`` with a = 1e-20, b = 1
#: (read at run time) is not 0, i.e. the compiler reassociated (fast-math).
_PROBE_KERNEL = """
__attribute__((always_inline)) static inline double _constant_probe(double x)
{ return __builtin_constant_p(x) ? 1.0 : 0.0; }
static inline double _reassociation_probe(double a, double b) { return (a + b) - b; }
int64_t _kernel(brian2cppyy::Slot* const _slots)
{
    const double a = _slots[0].d, b = _slots[1].d;
    int64_t result = 0;
    if (_constant_probe(1.5) == 1.0)
        result |= 1;
    if (_reassociation_probe(a, b) != 0.0)
        result |= 2;
    return result;
}
"""
_OPTIMISER_ON, _REASSOCIATED = 1, 2


def _probe_kernel():
    """Compile and run `_PROBE_KERNEL` with the current settings' pragmas."""
    import ctypes

    import numpy as np

    from ..cling import compiler_settings, jit

    address = jit.compile_kernel(
        _PROBE_KERNEL, pragmas=compiler_settings.pragmas(compiler_settings.current())
    )
    slots = np.array([1e-20, 1.0])
    return int(ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(address)(slots.ctypes.data))


def _probe_level(requested):
    """Whether the optimiser runs on a kernel (it cannot tell 1, 2 and 3 apart)."""
    from ..cling import compiler_settings

    on = bool(_probe_kernel() & _OPTIMISER_ON)
    wanted = compiler_settings.current().level > 0
    return {
        "applied": "1-3 (optimiser on)" if on else "0 (optimiser off)",
        "how": "whether __builtin_constant_p folds in a probe kernel",
        "matches": on == wanted,
    }


def _probe_fast_math(requested):
    """Whether the compiler reassociates floating-point sums in a kernel;
    without the optimiser nothing exploits fast-math, so it cannot be seen."""
    result = _probe_kernel()
    how = "whether (a + b) - b is reassociated in a probe kernel"
    if not result & _OPTIMISER_ON:
        return {"applied": None, "how": how + "; not observable at level 0",
                "matches": None}
    applied = bool(result & _REASSOCIATED)
    return {"applied": applied, "how": how, "matches": applied == bool(requested)}


#: setting -> probe(requested value) run in the child process once Cling has
#: started; it returns a dict: ``applied`` (what reaches the code, or None),
#: ``how`` (how that was established) and ``matches`` (True, False, or None
#: when it cannot tell). See `register_applied_probe`.
APPLIED_PROBES = {"optimisation_level": _probe_level, "fast_math": _probe_fast_math}


def register_applied_probe(setting, probe):
    """Report what is applied for ``setting`` (a key of `requested_settings`)
    through ``probe(requested value)``, which runs in the child process of
    ``info`` after Cling has started and returns ``{"applied": ..., "how":
    ..., "matches": True/False/None}``. Code that applies a setting registers
    the probe that observes it in compiled code; a setting without a probe is
    reported as "not verified"."""
    APPLIED_PROBES[setting] = probe


def _run_probes():
    applied = {}
    for setting, (value, _) in requested_settings().items():
        probe = APPLIED_PROBES.get(setting)
        if probe is None:
            continue
        try:
            applied[setting] = dict(probe(value))
        except Exception as exc:  # noqa: BLE001 - reported
            applied[setting] = {"applied": None, "matches": None,
                                "how": f"the probe failed: {type(exc).__name__}: {exc}"}
    return applied


def settings_rows(requested, applied):
    """One row per requested setting: ``name``, ``requested``, ``source``
    (the preference it comes from), ``applied`` (``None``: not verified),
    ``how`` and ``status`` (``'applied'``, ``'NOT APPLIED'`` or ``'not
    verified'``). ``requested`` is as `requested_settings` returns it,
    ``applied`` maps a setting to its probe's result."""
    rows = []
    for name, (wanted, source) in requested.items():
        found = applied.get(name)
        if found is None:
            how = ("passed to Cling in EXTRA_CLING_ARGS; their effect is not verified"
                   if name == "extra_cling_args" else "no probe observes it")
            found = {"applied": None, "how": how, "matches": None}
        status = {True: "applied", False: "NOT APPLIED", None: "not verified"}[found["matches"]]
        rows.append({"name": name, "requested": wanted, "source": source,
                     "applied": found["applied"], "how": found["how"], "status": status})
    return rows


def _child():
    """In the child process: start Cling, watching for warnings, then run the
    self-test; print the results as one JSON line."""
    import brian2cppyy
    from brian2 import prefs

    from .. import analysis_cache
    from ..cling import runtime

    for key, value in json.loads(os.environ.get(_PREFS_ENV, "{}")).items():
        prefs[key] = value
    report = {}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runtime.start()
    except Exception as exc:  # noqa: BLE001 - reported
        report["start_error"] = f"{type(exc).__name__}: {exc}"
    else:
        report["cling_start_seconds"] = time.perf_counter() - start
        report["start_warnings"] = [str(w.message) for w in caught]
        report["cling"] = runtime.info()
        report["applied"] = _run_probes()
        if os.environ.get(_SELF_TEST_ENV) != "0":
            report["self_test"] = self_test()
        report["cache_info"] = brian2cppyy.cache_info()
        report["analysis_cache"] = analysis_cache.info()
    print("BRIAN2CPPYY_DIAGNOSTICS " + json.dumps(report), flush=True)


def _run_child(timeout, run_self_test):
    from brian2 import prefs

    env = dict(os.environ)
    env[_SELF_TEST_ENV] = "1" if run_self_test else "0"
    env[_PREFS_ENV] = json.dumps(
        {key: prefs[key] for key in _CHILD_PREFS}
    )
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    command = [sys.executable, "-c", "from brian2cppyy.diagnostics.info import _child; _child()"]
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"the child process did not finish within {timeout} s", ""
    for line in proc.stdout.splitlines():
        if line.startswith("BRIAN2CPPYY_DIAGNOSTICS "):
            return json.loads(line.split(" ", 1)[1]), None, proc.stderr
    if proc.returncode < 0:
        how = f"was killed by signal {-proc.returncode}"
    else:
        how = f"exited with status {proc.returncode}"
    return None, f"the child process that starts Cling {how}", proc.stderr


def _pch_report(path, start_warnings, stderr, started):
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


def info(run_self_test=True, timeout=600):
    """Collect the diagnostics as a dict (see the module docstring). Cling
    starts, and the self-test runs, in a child process with this process's
    ``codegen.runtime.cppyy`` preferences and environment."""
    import brian2
    import numpy

    import brian2cppyy

    from .. import analysis_cache
    from ..cling import precompiled_header
    from ..preferences import cache_dir, cling_flags

    report = {
        "versions": {
            "brian2cppyy": brian2cppyy.__version__,
            "brian2": brian2.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "cppyy": _version("cppyy"),
            "cppyy-cling": _version("cppyy-cling"),
            "cppyy-backend": _version("cppyy-backend"),
            "CPyCppyy": _version("CPyCppyy"),
        },
        "package_dir": os.path.dirname(os.path.abspath(brian2cppyy.__file__)),
        "requested_flags": cling_flags(),
    }
    requested = requested_settings()
    path = cache_dir()
    files = sorted(os.listdir(path)) if os.path.isdir(path) else []
    report["cache"] = {
        "dir": path,
        "files": len(files),
        "size_mb": sum(os.path.getsize(os.path.join(path, f)) for f in files
                       if os.path.isfile(os.path.join(path, f))) / 2**20,
    }
    pch_path = precompiled_header.expected_path()
    child, error, stderr = _run_child(timeout, run_self_test)
    report["analysis_cache"] = analysis_cache.report(child)
    if child is not None and "start_error" in child:
        child, error = None, child["start_error"]
    started = child is not None
    if started:
        report["cling"] = dict(child["cling"], start_seconds=child["cling_start_seconds"])
        pch_path = child["cling"].get("pch")
        start_warnings = child["start_warnings"]
        report["self_test"] = child.get("self_test")
        report["settings"] = settings_rows(requested, child.get("applied", {}))
    else:
        report["settings"] = settings_rows(requested, {})
        report["cling"] = {
            "error": error, "stderr": "\n".join(_essential_lines(stderr or "")[-40:])
        }
        start_warnings = []
        report["self_test"] = (
            {"ok": False, "message": f"not run: {error}"} if run_self_test else None
        )
    report["pch"] = _pch_report(pch_path, start_warnings, stderr, started)
    report["ok"] = started and (not run_self_test or bool(report["self_test"]["ok"]))
    return report


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


def format_report(report):
    """The report of `info` as text."""
    from .. import analysis_cache

    lines = ["brian2cppyy diagnostics", ""]
    versions = report["versions"]
    cling = report["cling"]
    clang = ""
    if "clang" in cling:
        clang = f" (Cling with Clang {cling['clang']}, C++ {cling['cplusplus']})"
    lines.append("Versions")
    lines.append(f"  brian2cppyy    {versions['brian2cppyy']}  ({report['package_dir']})")
    for key in ("brian2", "numpy", "cppyy"):
        lines.append(f"  {key:<14} {versions[key]}")
    lines.append(f"  cppyy-cling    {versions['cppyy-cling']}{clang}")
    lines.append(f"  cppyy-backend  {versions['cppyy-backend']}")
    lines.append(f"  CPyCppyy       {versions['CPyCppyy']}")
    lines.append(f"  python         {versions['python']} on {versions['platform']}")
    lines.append("")
    lines.append("Cling")
    if "error" in cling:
        lines.append(f"  FAILED: {cling['error']}")
        for line in cling.get("stderr", "").splitlines()[-15:]:
            lines.append(f"    {line}")
    else:
        lines.append(f"  flags passed   {cling['flags'].strip()}  (in EXTRA_CLING_ARGS, when Cling started)")
        if cling["flags"].split() != report["requested_flags"].split():
            lines.append(f"                 (the preferences ask for '{report['requested_flags']}')")
        lines.append(f"  started in     {cling['start_seconds']:.2f} s")
    lines.append("")
    lines.extend(format_settings(report["settings"]))
    lines.append("")
    pch = report["pch"]
    lines.append("Precompiled header")
    lines.append(f"  path           {pch['path']}")
    if pch["healthy"]:
        lines.append(
            f"  status         OK ({pch['size_mb']:.1f} MB, readable; Cling started "
            "without a precompiled-header warning)"
        )
    else:
        lines.append("  status         PROBLEM")
        for problem in pch["problems"]:
            lines.append(f"    - {problem}")
    lines.append("")
    cache = report["cache"]
    lines.append("Cache")
    lines.append(
        f"  directory      {cache['dir']} ({cache['files']} files, {cache['size_mb']:.1f} MB;"
        " compiled kernels live in memory)"
    )
    lines.extend(analysis_cache.report_lines(report["analysis_cache"]))
    lines.append("")
    lines.append("Self-test")
    test = report["self_test"]
    if test is None:
        lines.append("  skipped")
    else:
        lines.append(f"  result         {'OK' if test['ok'] else 'FAILED'}: {test['message']}")
        if "phases" in test:
            lines.extend(_format_phases(test))
    lines.append("")
    lines.append("OK" if report["ok"] else "FAILED")
    return "\n".join(lines)


def _setting_text(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "(none)"
    return "-" if value is None else str(value)


def format_settings(rows):
    """The compiler settings (`settings_rows`) as lines of text: what the
    preferences request (and which preference) next to what was observed in
    compiled code."""
    lines = ["Compiler settings (requested / observed in compiled code)"]
    for row in rows:
        lines.append(
            f"  {row['name']:<19} requested {_setting_text(row['requested'])} "
            f"[{row['source']}]"
        )
        lines.append(
            f"  {'':<19} applied   {_setting_text(row['applied'])}: {row['status']} "
            f"({row['how']})"
        )
    return lines


def _format_phases(test):
    """The self-test's phases as a table whose last row is their sum."""
    def row(name, figures):
        return (
            f"  {name:<14} {figures['seconds']:7.3f} s   {figures['compile_seconds']:7.3f} s   "
            f"{figures['kernels_compiled']:3d} kernels compiled, "
            f"{figures['kernels_cached']} more from the in-process cache"
        )

    lines = [f"  {'phase':<14} {'wall':>9}   {'Cling':>9}   (Cling: the part of the wall time spent compiling)"]
    lines += [row(phase["name"], phase) for phase in test["phases"]]
    lines.append(row("total", test))
    return lines


def main(argv=None):
    """``python -m brian2cppyy info [--json] [--no-self-test]``; returns the
    exit status (0: Cling started and the self-test passed).
    ``python -m brian2cppyy --version`` prints the version and exits (0)."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="python -m brian2cppyy", description="brian2cppyy: the cppyy target for Brian2"
    )
    parser.add_argument("--version", action="version", version=f"brian2cppyy {__version__}")
    commands = parser.add_subparsers(dest="command")
    info_parser = commands.add_parser(
        "info", help="versions, Cling flags, precompiled header, cache, self-test"
    )
    info_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    info_parser.add_argument("--no-self-test", action="store_true",
                             help="only start Cling, do not run the self-test network")
    info_parser.add_argument("--timeout", type=float, default=600,
                             help="seconds to wait for Cling and the self-test (default 600)")
    args = parser.parse_args(argv)
    if args.command != "info":
        parser.print_help()
        return 2
    report = info(run_self_test=not args.no_self_test, timeout=args.timeout)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0 if report["ok"] else 1
