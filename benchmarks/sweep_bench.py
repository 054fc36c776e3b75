"""Throughput of parameter sweeps (issue 11, point 7), side by side in one run:

* ``sweep-1``: ``brian2cppyy.sweep`` on a LocalCluster of 1 worker process,
* ``sweep-2``: the same on 2 worker processes,
* ``pool-cython``: a plain ``multiprocessing.Pool`` of 2 processes over Brian2's
  ``cython`` target, each process with a cold (empty) Cython cache of its own, as
  users run sweeps on clusters (a process per job, no shared cache on NFS).

Each sweep mode runs in a new Python process that has imported Brian2,
brian2cppyy and Dask (not timed), as a script's first sweep: the embedded
cluster forks its workers from the calling process, so what an earlier mode
left in this one (Cling, started for it) would make a later mode cheaper.

The sweep is a grid of 6 x 4 = 24 runs of a small network (1 000 noisy LIF neurons
with random recurrent synapses, p = 0.02, 200 ms); every mode runs the same runs
with the same seeds (``brian2cppyy.sweeps.seeds.run_seed``), and the spike counts
of the modes are compared (the cppyy target draws the same random numbers as the
cython target). The sweep modes use the cluster that ``sweep`` starts itself
(``n_workers=``), with its settings (``cluster.EMBEDDED_CLUSTER_CONFIG``), as a user
on one machine does. Each run records when it started and ended (wall clock).
Three throughputs per mode, in runs per second:

* *whole sweep*: all runs over the total time, from calling ``sweep`` (or
  starting the pool) to having every result;
* *after start-up*: all runs over the time after ``startup``, the time before
  the first run began (starting the processes, importing Brian2, starting
  Cling); the first run of each process, which compiles, is included;
* *steady state*: the runs that compiled nothing (every run but each process's
  first) over the time from the first of them starting to the last run ending:
  what a long sweep of the same model approaches.

Each mode also records its CPU time (``cpu_s``: user + system of this process
and of the worker processes it started and reaped), which, unlike the wall-clock
figures, a machine shared with other jobs changes little.

The summary, table and chart are made by ``sweep_report.py``; where a sweep's
start-up goes, phase by phase, is measured by ``sweep_startup.py``.

Each run also reports how many kernels it compiled, which shows the
compile-once workers: a worker's first run compiles, its later runs do not.

    python benchmarks/sweep_bench.py            # writes results/sweep-<date>.json/.png
    python benchmarks/sweep_bench.py --quick    # 8 runs per mode, a smoke test
    python benchmarks/sweep_bench.py --report results/sweep-<date>.json --readme README.md
                                                # the table of a result file, into the README
"""

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from sweep_report import chart, readme_text, summarise, update_readme

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
DRIVES = [1.05, 1.1, 1.2, 1.3, 1.4, 1.5]
WEIGHTS = [-0.02, -0.01, 0.0, 0.01]
SEED = 2026


def small_network(drive, w):
    """1 000 noisy LIF neurons, recurrent synapses (p = 0.02) of weight ``w``,
    200 ms; returns the spike count, the mean rate and the number of kernels
    this run compiled (cppyy target; -1 for other targets)."""
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, ms, prefs, run, start_scope

    start_scope()
    on_cppyy = prefs.codegen.target == "cppyy"
    compiled_before = _compiled() if on_cppyy else 0
    group = NeuronGroup(1000, """dv/dt = (drive - v)/(10*ms) + 0.2*xi/sqrt(10*ms) : 1
                                 (unless refractory)""",
                        threshold="v > 1", reset="v = 0", refractory=2 * ms, method="euler")
    synapses = Synapses(group, group, on_pre="v_post += w")
    synapses.connect(p=0.02)
    monitor = SpikeMonitor(group)
    run(200 * ms, namespace={"drive": drive, "w": w})
    compiled = _compiled() - compiled_before if on_cppyy else -1
    return {"n_spikes": int(monitor.num_spikes), "rate_hz": monitor.num_spikes / 1000 / 0.2,
            "kernels_compiled": compiled}


def _compiled():
    import brian2cppyy

    return brian2cppyy.stats()["compiled"]


def parameter_sets(quick):
    drives, weights = (DRIVES[:4], WEIGHTS[:2]) if quick else (DRIVES, WEIGHTS)
    return [{"drive": d, "w": w} for d in drives for w in weights]


# --- brian2cppyy.sweep ---------------------------------------------------------------

def timed_network(drive, w):
    """`small_network`, with the wall-clock times (``time.time()``) at which
    the run started and ended."""
    started = time.time()
    outputs = small_network(drive, w)
    return dict(outputs, started=started, ended=time.time())


def run_sweep(sets, n_workers):
    import brian2cppyy

    start, start_clock = time.perf_counter(), time.time()
    result = brian2cppyy.sweep(timed_network, sets, seed=SEED, n_workers=n_workers,
                               progress=False)
    total = time.perf_counter() - start
    runs = [{"params": {"drive": float(r.drive), "w": float(r.w)}, "seed": int(r.seed),
             "status": r.status, "wall_s": float(r.wall_s), "worker": r.worker,
             "n_spikes": int(r.n_spikes), "kernels_compiled": int(r.kernels_compiled),
             "started_s": float(r.started) - start_clock, "ended_s": float(r.ended) - start_clock}
            for r in result.table.itertuples()]
    return {"mode": f"sweep-{n_workers}", "processes": n_workers, "total_s": total,
            "startup_s": min(r["started_s"] for r in runs), "runs": runs}


def run_sweep_in_new_process(quick, n_workers):
    """`run_sweep` in a new Python process (`sweep_child`), as a script's
    first sweep: the embedded cluster forks its workers from the calling
    process, which must not have kept anything of an earlier mode (Cling
    started for it, say)."""
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as directory:
        out = os.path.join(directory, "mode.json")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--sweep-child",
                        str(n_workers), "--out", out] + (["--quick"] if quick else []),
                       check=True)
        with open(out) as f:
            return json.load(f)


def sweep_child(quick, n_workers, out):
    """The new process of `run_sweep_in_new_process`: imports what a script
    imports before its sweep (Brian2, brian2cppyy, Dask and its companions:
    not timed), runs the sweep and writes the mode, with its CPU time, to
    ``out``."""
    import brian2  # noqa: F401

    from brian2cppyy.sweeps.api import require_dask

    require_dask()
    cpu = cpu_seconds()
    mode = run_sweep(parameter_sets(quick), n_workers)
    mode["cpu_s"] = cpu_seconds() - cpu
    with open(out, "w") as f:
        json.dump(mode, f)


# --- multiprocessing.Pool over Cython, cold cache per process --------------------------

def _pool_initialiser(cache_root):
    from brian2 import prefs

    prefs.codegen.target = "cython"
    prefs.codegen.runtime.cython.cache_dir = tempfile.mkdtemp(prefix="cold-", dir=cache_root)


def _pool_run(task):
    from brian2 import seed

    params, run_seed, start_clock = task
    start, started = time.perf_counter(), time.time()
    seed(run_seed)
    outputs = small_network(**params)
    return {"params": params, "seed": run_seed, "status": "ok",
            "wall_s": time.perf_counter() - start, "worker": f"pid {os.getpid()}",
            "n_spikes": outputs["n_spikes"], "kernels_compiled": -1,
            "started_s": started - start_clock, "ended_s": time.time() - start_clock}


def run_pool(sets, processes, time_limit):
    from brian2cppyy.sweeps.seeds import run_seed

    cache_root = tempfile.mkdtemp(prefix="sweep-bench-cython-")
    start, start_clock = time.perf_counter(), time.time()
    tasks = [(p, run_seed(p, 0, SEED), start_clock) for p in sets]
    try:
        context = multiprocessing.get_context("spawn")
        runs, complete = [], True
        with context.Pool(processes, initializer=_pool_initialiser,
                          initargs=(cache_root,)) as pool:
            results = pool.imap_unordered(_pool_run, tasks, chunksize=1)
            try:
                for _ in tasks:
                    left = start + time_limit - time.perf_counter()
                    runs.append(results.next(timeout=max(left, 0.001)))
            except multiprocessing.TimeoutError:
                complete = False  # recorded, and the table says so
            total = time.perf_counter() - start
            pool.terminate()
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    return {"mode": f"pool-cython-{processes}", "processes": processes, "total_s": total,
            "startup_s": min((r["started_s"] for r in runs), default=None), "runs": runs,
            "complete": complete, "n_runs": len(sets)}


def cpu_seconds():
    """User + system CPU time of this process and of its reaped children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def machine():
    """The machine and the versions. cppyy's version is read from its
    metadata: importing cppyy would start Cling in this process, without the
    flags of brian2cppyy's preferences, and the embedded cluster's workers,
    forked from this process, would inherit that Cling."""
    from importlib.metadata import version

    import brian2
    import dask

    import brian2cppyy

    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "brian2": brian2.__version__,
            "brian2cppyy": brian2cppyy.__version__, "cppyy": version("cppyy"),
            "dask": dask.__version__, "load_average_at_start": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 runs per mode")
    parser.add_argument("--modes", default="sweep-1,sweep-2,pool-cython",
                        help="comma-separated subset of sweep-1,sweep-2,pool-cython")
    parser.add_argument("--pool-time-limit", type=float, default=3600, metavar="SECONDS",
                        help="stop the Pool+Cython mode after this long (recorded as incomplete)")
    parser.add_argument("--report", metavar="JSON", help="print the table of a result file "
                        "instead of running")
    parser.add_argument("--readme", metavar="FILE", help="write the table into FILE between "
                        "the sweep benchmark markers")
    parser.add_argument("--sweep-child", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_child:
        sweep_child(args.quick, args.sweep_child, args.out)
        return
    if args.report:
        with open(args.report) as f:
            data = json.load(f)
        text = readme_text(data, os.path.abspath(args.report))
        if args.readme:
            update_readme(args.readme, text)
        print(text)
        return
    sets = parameter_sets(args.quick)
    info = machine()
    modes = []
    for name in args.modes.split(","):
        print(f"{name}: {len(sets)} runs ...", file=sys.stderr, flush=True)
        load, cpu = os.getloadavg(), cpu_seconds()
        if name == "pool-cython":
            mode = run_pool(sets, 2, args.pool_time_limit)
            mode["cpu_s"] = cpu_seconds() - cpu
        else:
            mode = run_sweep_in_new_process(args.quick, int(name.split("-")[1]))
        mode["load_average_before"] = load
        print(f"{name}: {mode['total_s']:.1f} s, {mode['cpu_s']:.1f} s of CPU", file=sys.stderr,
              flush=True)
        modes.append(mode)
    ratios = summarise(modes)
    os.makedirs(RESULTS, exist_ok=True)
    stem = os.path.join(RESULTS, f"sweep-{datetime.date.today().isoformat()}"
                        + ("-quick" if args.quick else ""))
    data = {"machine": info, "n_runs": len(sets), "modes": modes, "ratios": ratios,
            "load_average_at_end": os.getloadavg()}
    with open(stem + ".json", "w") as f:
        json.dump(data, f, indent=1)
    chart(modes, stem + ".png")
    text = readme_text(data, stem + ".json")
    if args.readme:
        update_readme(args.readme, text)
    print(text)
    print(f"\nwritten: {stem}.json, {stem}.png")


if __name__ == "__main__":
    main()
