"""The share of each workload's time-step loop that threads may split, and
what Amdahl's law makes of it for more cores.

    python benchmarks/threads_fraction.py [--workloads lif_small,coba,...] [--cores 2,4,8,16]

Runs each workload once with one thread and ``profile=True`` (the fused loop
times each object's kernels in C++) and sorts the objects' times into those
whose run kernel has a loop that may be split (its source calls
``brian2cppyy::parallel_``: state updates, thresholds, resets, ...) and the
rest (random-number kernels, spike queues, monitors, Python objects). The
split share p gives the speed-up bound 1 / ((1 - p) + p / n) on n cores.
The figures are ratios of times of one run, so a loaded machine changes them
less than wall-clock speed-ups; they are an upper bound (a split loop has
its own costs: waking threads, parts of uneven work, synaptic pathways
split by target where each thread scans the whole spike list).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _splittable(obj):
    """Whether one of the object's run kernels has a loop that may be split."""
    for codeobj in getattr(obj, "_code_objects", []):
        source = getattr(codeobj.code, "run", None) or ""
        if "brian2cppyy::parallel_" in str(source):
            return True
    return False


def measure(name):
    """(split share, seconds in the loop's objects) of workload ``name``."""
    from brian2 import prefs

    from workloads import WORKLOADS

    prefs.codegen.runtime.cppyy.threads = 1
    net, duration = WORKLOADS[name]()
    net.run(0 * duration)
    net.run(duration, profile=True)
    by_name = {obj.name: obj for obj in net.sorted_objects}
    split = total = 0.0
    for obj_name, seconds in net.profiling_info:
        seconds = float(seconds)
        total += seconds
        if _splittable(by_name.get(obj_name)):
            split += seconds
    return split / total if total else 0.0, total


def main(argv=None):
    import brian2cppyy  # noqa: F401
    from brian2 import prefs

    from workloads import WORKLOADS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--cores", default="2,4,8,16")
    args = parser.parse_args(argv)
    prefs.codegen.target = "cppyy"
    cores = [int(c) for c in args.cores.split(",")]
    print("| workload | split share p | " + " | ".join(f"bound on {n} cores" for n in cores)
          + " |")
    print("|---|---:|" + "---:|" * len(cores))
    results = {}
    for name in args.workloads.split(","):
        share, total = measure(name)
        bounds = [1.0 / ((1.0 - share) + share / n) for n in cores]
        results[name] = {"split_share": share, "profiled_seconds": total, "bounds": bounds}
        print(f"| {name} | {share:.3f} | " + " | ".join(f"{b:.2f}x" for b in bounds) + " |",
              flush=True)
    print(json.dumps(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
