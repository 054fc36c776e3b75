"""Runs Brian2's published example scripts on the cppyy and cython targets and
compares them: whether each raised, its final state, and its wall time.

The examples are not part of this repository: they are read from a clone of
brian-team/brian2 (``--brian2-repo``, a git directory, bare or not: its
``examples/`` tree at ``--rev`` is extracted into a temporary directory) or
from a directory of examples (``--examples-dir``).  Which examples, and the
edits that shorten long runs, are in ``tools/brian2_examples.py`` (the
catalogue, shared with ``benchmarks/startup.py``); ``--uncovered`` lists the
scripts of the examples tree that it neither runs nor lists as not run.

Each example runs in a fresh subprocess per target (``--child`` mode of this
script) with

* matplotlib's Agg backend and ``plt.show`` a no-op;
* ``seed(SEED)`` (Brian2's, which seeds numpy too) before the script;
* ``prefs.codegen.target`` set before the script (after ``import brian2cppyy``
  for cppyy); the script's own ``from brian2 import *`` does not reset it;
  ``codegen.string_expression_target`` stays numpy on both targets, unless
  ``--string-expressions`` sets it to the target too;
* run durations shortened where an example runs for minutes, and calls that
  fail on every target with today's numpy or Brian2 replaced, by documented
  text substitutions (``Example.edits``), the same for both targets;
* ``Network.after_run`` wrapped, so that the state of every object of every
  run is recorded while the network still holds them (the magic network
  forgets its objects after a run): spike counts of SpikeMonitors and
  EventMonitors, mean and spread of StateMonitor traces and PopulationRate
  monitors' rates, and the values of the state variables of groups.

cython runs twice and its second run is timed (a warm cache); cppyy runs once,
as a user would run it (it compiles every kernel every time). Times are of the
whole script (``exec_s``, without the interpreter's and Brian2's import) and
of the whole process (``process_s``).

Comparison of the two records, object by object and quantity by quantity:
``identical`` (bit for bit), ``fp`` (``allclose`` with rtol 1e-9: rounding),
``close`` (summary statistics within 5 %: chaotic models whose trajectories
part after a last-bit difference but whose statistics agree), ``DIFFERENT``.

Usage (under ``nice -n 19``)::

    nice -n 19 python tools/run_brian2_examples.py \
        --brian2-repo /path/to/brian2 [--only CUBA,STDP] [--json out.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brian2_examples import checkout, prepare, select, uncovered  # noqa: E402

SEED = 12345
PYTHON = sys.executable
THIS = os.path.abspath(__file__)
SRC = os.path.join(os.path.dirname(os.path.dirname(THIS)), "src")


#: set (to 1) in a child's environment: string expressions (``G.v = '...'``)
#: are generated for the target too (``--string-expressions``)
STRING_TARGET_ENV = "BRIAN2_EXAMPLES_STRING_TARGET"

#: arrays up to this size are recorded whole (for the bit-for-bit comparison)
MAX_WHOLE = 20000


# --------------------------------------------------------------------------
# child: one example on one target
# --------------------------------------------------------------------------

def _summary(values):
    import numpy as np

    a = np.asarray(values, dtype=float).ravel()
    finite = a[np.isfinite(a)]
    record = {
        "n": int(a.size),
        "nonfinite": int(a.size - finite.size),
        "mean": float(finite.mean()) if finite.size else 0.0,
        "std": float(finite.std()) if finite.size else 0.0,
    }
    if a.size <= MAX_WHOLE:
        record["values"] = [None if not np.isfinite(x) else float(x) for x in a]
    return record


def _record_object(obj):
    """The state of one network object, as {quantity: summary}."""
    from brian2 import EventMonitor, PopulationRateMonitor, StateMonitor
    from brian2.core.variables import ArrayVariable

    if isinstance(obj, EventMonitor):
        return {"count": _summary(obj.count[:]), "t_mean": _summary([obj.t_[:].mean()] if obj.num_events else [])}
    if isinstance(obj, StateMonitor):
        out = {}
        for name in obj.record_variables:
            trace = obj.variables[name].get_value()
            out[name] = {k: v for k, v in _summary(trace).items() if k != "values"}
        return out
    if isinstance(obj, PopulationRateMonitor):
        return {"rate": {k: v for k, v in _summary(obj.rate_[:]).items() if k != "values"}}
    out = {}
    for name, var in getattr(obj, "variables", {}).items():
        if (not isinstance(var, ArrayVariable) or var.owner is not obj or name.startswith("_")
                or name in ("t", "dt", "t_in_timesteps", "N") or var.dtype == bool and var.scalar):
            continue
        try:
            out[name] = _summary(var.get_value())
        except Exception as exc:  # noqa: BLE001 -- a quantity we cannot read is noted, not fatal
            out[name] = {"error": repr(exc)}
    return out


def _child(target, script, out_path):
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: None
    if target == "cppyy":
        import brian2cppyy  # noqa: F401
    import numpy as np

    import brian2
    from brian2 import Network, prefs, seed

    prefs.codegen.target = target
    if os.environ.get(STRING_TARGET_ENV):
        prefs.codegen.string_expression_target = target
    runs = []
    original_after_run = Network.after_run

    def after_run(self):
        states = {}
        for obj in self.sorted_objects:
            try:
                states[obj.name] = _record_object(obj)
            except Exception as exc:  # noqa: BLE001
                states[obj.name] = {"error": {"error": repr(exc)}}
        # after stop(), Brian2 leaves a VariableView of the clock's t in t_
        runs.append({"t": float(np.asarray(self.t_).ravel()[0]), "objects": states})
        return original_after_run(self)

    Network.after_run = after_run
    seed(SEED)
    record = {"target": target, "error": None}
    os.chdir(os.path.dirname(script))
    sys.path.insert(0, os.path.dirname(script))
    sys.argv = [script]
    start = time.perf_counter()
    try:
        import runpy

        runpy.run_path(script, run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 -- the example's failure is the result
        import traceback

        record["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        record["traceback"] = traceback.format_exc()[-6000:]
    record["exec_s"] = time.perf_counter() - start
    record["runs"] = runs
    record["brian2"] = brian2.__version__
    with open(out_path, "w") as f:
        json.dump(record, f)


# --------------------------------------------------------------------------
# parent: prepare, run, compare
# --------------------------------------------------------------------------

def _run_child(target, script, timeout, string_expressions=False):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop(STRING_TARGET_ENV, None)
    if string_expressions:
        env[STRING_TARGET_ENV] = "1"
    start = time.perf_counter()
    try:
        proc = subprocess.run([PYTHON, THIS, "--child", target, script, out], env=env,
                              capture_output=True, text=True, timeout=timeout)
        with open(out) as f:
            record = json.load(f)
    except subprocess.TimeoutExpired:
        record = {"target": target, "error": f"timeout after {timeout} s", "runs": [], "exec_s": None}
    except (OSError, json.JSONDecodeError):
        record = {"target": target, "error": f"child died (rc {proc.returncode}): {proc.stderr[-2000:]}",
                  "runs": [], "exec_s": None}
    finally:
        if os.path.exists(out):
            os.unlink(out)
    record["process_s"] = time.perf_counter() - start
    return record


RANK = {"identical": 0, "fp": 1, "close": 2, "DIFFERENT": 3}


def _compare_quantity(a, b):
    import numpy as np

    if "error" in a or "error" in b:
        return ("identical" if a == b else "DIFFERENT"), f"{a.get('error')} / {b.get('error')}"
    if a["n"] != b["n"] or a["nonfinite"] != b["nonfinite"]:
        return "DIFFERENT", f"size/non-finite {a['n']},{a['nonfinite']} vs {b['n']},{b['nonfinite']}"
    if "values" in a and "values" in b:
        x = np.array([np.nan if v is None else v for v in a["values"]])
        y = np.array([np.nan if v is None else v for v in b["values"]])
        if np.array_equal(x, y, equal_nan=True):
            return "identical", ""
        if np.allclose(x, y, rtol=1e-9, atol=1e-15, equal_nan=True):
            return "fp", ""
    elif a["mean"] == b["mean"] and a["std"] == b["std"]:
        return "identical", ""
    elif np.isclose(a["mean"], b["mean"], rtol=1e-9) and np.isclose(a["std"], b["std"], rtol=1e-9):
        return "fp", ""
    scale = max(abs(a["mean"]), abs(b["mean"]), a["std"], b["std"], 1e-300)
    detail = f"mean {a['mean']:.6g} vs {b['mean']:.6g}, std {a['std']:.6g} vs {b['std']:.6g}"
    if abs(a["mean"] - b["mean"]) <= 0.05 * scale and abs(a["std"] - b["std"]) <= 0.05 * scale + 1e-12:
        return "close", detail
    return "DIFFERENT", detail


def compare(ours, ref):
    """(verdict, [details]) of two child records: the worst over all
    quantities of all objects of all runs."""
    if ours["error"] != ref["error"]:
        return "RAISED", [ours["error"] or "", ref["error"] or ""]
    if ours["error"]:  # the same error on both: the runs before it are still compared
        verdict, details = compare(dict(ours, error=None), dict(ref, error=None))
        return f"both raised, {verdict}", [ours["error"]] + details
    if len(ours["runs"]) != len(ref["runs"]):
        return "DIFFERENT", [f"{len(ours['runs'])} runs vs {len(ref['runs'])}"]
    worst, details = "identical", []
    for k, (run_a, run_b) in enumerate(zip(ours["runs"], ref["runs"])):
        if set(run_a["objects"]) != set(run_b["objects"]):
            return "DIFFERENT", [f"run {k}: objects {sorted(set(run_a['objects']) ^ set(run_b['objects']))}"]
        for name, qa in run_a["objects"].items():
            qb = run_b["objects"][name]
            for q in sorted(set(qa) | set(qb)):
                if q not in qa or q not in qb:
                    verdict, detail = "DIFFERENT", "missing"
                else:
                    verdict, detail = _compare_quantity(qa[q], qb[q])
                if RANK[verdict] >= 2:
                    details.append(f"run {k} {name}.{q}: {verdict} {detail}")
                if RANK[verdict] > RANK[worst]:
                    worst = verdict
    return worst, details


def markdown_table(paths):
    """A Markdown table of the results in the JSON files ``paths`` (an
    example in a later file replaces the same example in an earlier one)."""
    results = {}
    for path in paths:
        with open(path) as f:
            for result in json.load(f):
                results[result["example"]] = result
    lines = ["| example | cppyy ok? | same results? | cppyy s | cython warm s | ratio | edits |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for name, r in results.items():
        ours, ref = r["cppyy"], r["cython"]
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else ""
        lines.append(f"| {name} | {'ok' if not ours['error'] else 'raised'} | {r['verdict']} | "
                     f"{ours['exec_s'] or 0:.2f} | {ref['exec_s'] or 0:.2f} | {ratio} | {r.get('why', '')} |")
    return "\n".join(lines)


def _print_uncovered(args):
    """``--uncovered``: the scripts of the examples tree that the catalogue
    neither runs nor lists in ``NOT_RUN`` (none when it is complete)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = checkout(args.brian2_repo, args.rev, args.examples_dir, tmp)
        paths = sorted(os.path.relpath(os.path.join(d, f), root)
                       for d, _, files in os.walk(root) for f in files)
    missing = uncovered(paths)
    print("\n".join(missing) if missing else "every example script is run or listed in NOT_RUN")
    return len(missing)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brian2-repo", help="a git clone of brian-team/brian2 (bare or not)")
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--examples-dir", help="a directory of examples (instead of --brian2-repo)")
    parser.add_argument("--only", help="comma-separated substrings of example paths")
    parser.add_argument("--json", help="write all records and verdicts here")
    parser.add_argument("--string-expressions", action="store_true",
                        help="codegen.string_expression_target = the target too (default: numpy for both)")
    parser.add_argument("--table", nargs="+", metavar="JSON",
                        help="print a Markdown table of earlier --json results, and exit")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--uncovered", action="store_true",
                        help="list the example scripts neither run nor listed as not run, and exit")
    parser.add_argument("--child", nargs=3, metavar=("TARGET", "SCRIPT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(*args.child)
    if args.table:
        return print(markdown_table(args.table))
    if not (args.brian2_repo or args.examples_dir):
        parser.error("give --brian2-repo or --examples-dir")
    if args.uncovered:
        return _print_uncovered(args)
    examples = select(args.only.split(",") if args.only else None)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = checkout(args.brian2_repo, args.rev, args.examples_dir, tmp)
        print(f"{'example':52} {'cppyy':6} {'result':11} {'cppyy s':>8} {'cython s':>8} {'ratio':>6}", flush=True)
        for example in examples:
            script = prepare(example, root)
            strings = args.string_expressions
            ours = _run_child("cppyy", script, args.timeout, strings)
            _run_child("cython", script, args.timeout, strings)  # warms the cache
            ref = _run_child("cython", script, args.timeout, strings)
            verdict, details = compare(ours, ref)
            ratio = (ours["exec_s"] / ref["exec_s"]) if ours.get("exec_s") and ref.get("exec_s") else None
            print(f"{example.path:52} {'ok' if not ours['error'] else 'ERROR':6} {verdict:11} "
                  f"{ours['exec_s'] or 0:8.2f} {ref['exec_s'] or 0:8.2f} "
                  f"{ratio if ratio else float('nan'):6.2f}", flush=True)
            for line in details[:8]:
                print(f"    {line}", flush=True)
            results.append({"example": example.path, "edits": example.edits, "why": example.why,
                            "verdict": verdict, "details": details, "ratio": ratio,
                            "cppyy": ours, "cython": ref})
            if args.json:  # after each example, so that an interrupted sweep keeps its results
                with open(args.json, "w") as f:
                    json.dump(results, f)


if __name__ == "__main__":
    sys.exit(main())
