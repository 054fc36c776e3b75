"""Where a sweep's fixed cost goes (issue 15): the start of a
``brian2cppyy.sweep`` on its embedded cluster, phase by phase, from the
client and from each worker, in wall-clock time and CPU time.

The client's phases are timed by wrapping `brian2cppyy.sweeps.cluster.Connection`
and the executor's submission loop; the workers' by a Dask worker preload
(``sweep_startup_preload.py``), which marks: the process created (from
``/proc``, to about 10 ms, on a clock that may be off by up to a second),
Dask's worker starting (for a spawned worker, after Python started and
imported Dask), the import of brian2cppyy with Brian2 (spawned workers
only), the worker plugin's set-up (Cling's start, the heap frozen), and
the first task (which compiles the model). CPU times are the process's
user + system time when the phase ended; the client's include the
scheduler and the nannies, which run in its process. On a machine shared
with other jobs the wall-clock figures stretch, the CPU times much less:
compare those.

    python benchmarks/sweep_startup.py                  # 1 and 2 workers, 8 runs
    python benchmarks/sweep_startup.py --workers 2 --runs 24 --json out.json

Each sweep runs in a new Python process that has imported Brian2,
brian2cppyy and Dask (not timed): the embedded cluster forks its workers
from the calling process, so an earlier sweep's state would be inherited.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sweep_bench  # noqa: E402  (the benchmark's model)


def client_marks():
    """Wrap the client's phases (once per process); returns ``(mark, events)``,
    the function that marks a phase and the list the marks go to."""
    import psutil

    from brian2cppyy.sweeps.cluster import Connection
    from brian2cppyy.sweeps.executor import Executor

    process, events = psutil.Process(), []

    def mark(name):
        cpu = process.cpu_times()
        events.append((name, time.time(), cpu.user + cpu.system))

    def wrapped(function, before, after=None):
        def call(*args, **kwargs):
            mark(before)
            result = function(*args, **kwargs)
            if after:
                mark(after)
            return result
        return call

    Connection.__init__ = wrapped(Connection.__init__, "cluster starts",
                                  "cluster up, client connected")
    Connection.close = wrapped(Connection.close, "last result in, cluster closing",
                               "cluster closed")
    Executor._collect = wrapped(Executor._collect, "workers prepared, tasks submitted")
    return mark, events


def measure(n_workers, runs, mark, events):
    import dask

    import brian2cppyy

    events.clear()
    directory = tempfile.mkdtemp(prefix="sweep-startup-")
    os.environ["SWEEP_STARTUP_DIR"] = directory
    preload = os.path.join(HERE, "sweep_startup_preload.py")
    sets = sweep_bench.parameter_sets(False)[:runs]
    load = os.getloadavg()
    with dask.config.set({"distributed.worker.preload": [preload]}):
        mark("sweep() called")
        result = brian2cppyy.sweep(sweep_bench.timed_network, sets, n_workers=n_workers,
                                   progress=False, seed=sweep_bench.SEED)
        mark("sweep() returned")
    workers = []
    for path in sorted(glob.glob(os.path.join(directory, "worker-*.json"))):
        with open(path) as f:
            workers.append(json.load(f))
    total = events[-1][1] - events[0][1]
    return {"n_workers": n_workers, "runs": len(sets), "load_average_before": load,
            "load_average_after": os.getloadavg(), "total_s": total, "client": list(events),
            "workers": workers, "ok": bool((result.table.status == "ok").all())}


def print_timeline(measured):
    t0, c0 = measured["client"][0][1], measured["client"][0][2]
    print(f"\n{measured['n_workers']} worker(s), {measured['runs']} runs, "
          f"{measured['total_s']:.2f} s; load average before "
          f"{measured['load_average_before'][0]:.2f}, after "
          f"{measured['load_average_after'][0]:.2f}")
    print("  client (scheduler and nannies included)      at (s)   CPU since the call (s)")
    for name, t, cpu in measured["client"]:
        print(f"    {name:44s} {t - t0:7.2f}  {cpu - c0:7.2f}")
    for i, events in enumerate(measured["workers"]):
        print(f"  worker {i}                                     at (s)   phase: wall, CPU (s)")
        previous = None
        for name, t, cpu in events:
            phase = "" if previous is None else \
                f"{t - previous[0]:6.2f}, {cpu - previous[1]:5.2f}"
            print(f"    {name:44s} {t - t0:7.2f}  {phase}")
            previous = (t, cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--runs", type=int, default=8, help="runs per sweep (at most 24)")
    parser.add_argument("--json", metavar="FILE", help="also write the events to FILE")
    args = parser.parse_args()
    counts = args.workers.split(",")
    if len(counts) > 1:  # one process per sweep: nothing of an earlier sweep is inherited
        for n in counts:
            command = [sys.executable, os.path.abspath(__file__), "--workers", n,
                       "--runs", str(args.runs)]
            if args.json:
                command += ["--json", f"{os.path.splitext(args.json)[0]}-{n}.json"]
            subprocess.run(command, check=True)
        return
    import brian2  # noqa: F401  (what a script imports before its sweep: not timed)

    from brian2cppyy.sweeps.api import require_dask

    require_dask()
    mark, events = client_marks()
    measured = measure(int(counts[0]), args.runs, mark, events)
    print_timeline(measured)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(measured, f, indent=1)


if __name__ == "__main__":
    main()
