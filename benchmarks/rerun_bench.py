"""The fixed cost of a repeated ``run()``: a network that is run again
unchanged for a short time (1 ms), as a notebook user does.

    python benchmarks/rerun_bench.py [--workload lif_small] [--runs 30] [--rounds 3]

Each sample is a fresh process that builds the workload, runs it once for 0 ms
and once for 1 ms (compilation, warm-up), then times ``--runs`` runs of 1 ms.
Per run it records the wall time of ``net.run``, its CPU time
(``time.process_time``: the machine is shared, CPU time is the steadier
figure) and the time steps' own time (``device._last_run_time``); the
overhead is the wall time minus the time steps. The modes, alternated within
each round (A B C ... A B C ...):

* ``before``: cppyy as before `brian2cppyy.loop.run_reuse` and
  `brian2cppyy.loop.unused_objects` (code objects generated at every run, the
  import-time objects unfrozen, so Brian2's ``gc.collect()`` walks them all);
* ``freeze``: the import-time freeze only; ``reuse``: the reuse only;
* ``after``: both (the default behaviour);
* ``cython``: Brian2's Cython target (warm cache), for reference.

Prints the medians over all runs of all samples of a mode, and the ratio of
``before`` to ``after``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("before", "freeze", "reuse", "after", "cython")


def sample(workload, mode, runs):
    """One sample in this process; returns the per-run figures."""
    import gc
    import time

    import brian2cppyy  # noqa: F401  (freezes the imported objects)
    from brian2 import get_device, ms, prefs

    sys.path.insert(0, HERE)
    from workloads import WORKLOADS

    if mode in ("before", "reuse", "cython"):
        gc.unfreeze()
    prefs.codegen.target = "cython" if mode == "cython" else "cppyy"
    prefs.codegen.runtime.cppyy.reuse_code_objects = mode in ("reuse", "after")
    net, _ = WORKLOADS[workload]()
    net.run(0 * ms)
    net.run(1 * ms)
    device = get_device()
    walls, cpus, loops = [], [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        net.run(1 * ms)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        loops.append(device._last_run_time)
    return {"wall": walls, "cpu": cpus, "loop": loops, "frozen": gc.get_freeze_count()}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="lif_small")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--sample", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sample:
        print(json.dumps(sample(args.workload, args.sample, args.runs)))
        return 0
    modes = args.modes.split(",")
    results = {mode: {"wall": [], "cpu": [], "loop": []} for mode in modes}
    for _ in range(args.rounds):
        for mode in modes:
            out = subprocess.run(
                [sys.executable, __file__, "--sample", mode, "--workload", args.workload,
                 "--runs", str(args.runs)],
                capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            for key in ("wall", "cpu", "loop"):
                results[mode][key] += figures[key]
    print(f"{args.workload}: {args.rounds} samples x {args.runs} runs of 1 ms per mode, "
          "medians in ms")
    print(f"{'mode':8} {'wall':>8} {'cpu':>8} {'steps':>8} {'overhead':>9}")
    medians = {}
    for mode, figures in results.items():
        overhead = [w - loop for w, loop in zip(figures["wall"], figures["loop"])]
        row = [statistics.median(v) * 1e3 for v in
               (figures["wall"], figures["cpu"], figures["loop"], overhead)]
        medians[mode] = row
        print(f"{mode:8} {row[0]:8.1f} {row[1]:8.1f} {row[2]:8.1f} {row[3]:9.1f}")
    if "before" in medians and "after" in medians:
        before, after = medians["before"], medians["after"]
        print(f"before/after: overhead {before[3] / after[3]:.1f}x, "
              f"CPU per run {before[1] / after[1]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
