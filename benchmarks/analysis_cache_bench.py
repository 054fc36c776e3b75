"""Whole-process CPU time of Brian2's CUBA example (``examples/CUBA.py``:
4 000 neurons, ``method='exact'``, two Synapses, SpikeMonitor, 1 s) in a
fresh process: cppyy with an empty analysis cache, cppyy with a filled one,
and warm Cython (its cache directory filled by an earlier run) for reference.

    python benchmarks/analysis_cache_bench.py [--repeats N] [--out FILE.json]

Samples alternate between the three conditions (A B C A B C ...). Each
sample is a fresh Python process; its CPU time (user + sys, from
``resource.getrusage(RUSAGE_CHILDREN)``) is what a user pays; the child also
reports its own split (imports and build, ``run``). Prints the medians and
the ratios, and writes every sample to a JSON file.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

#: Brian2's examples/CUBA.py, without the plot
MODEL = """
taum = 20*ms
taue = 5*ms
taui = 10*ms
Vt = -50*mV
Vr = -60*mV
El = -49*mV
eqs = '''
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
'''
P = NeuronGroup(4000, eqs, threshold='v>Vt', reset='v = Vr', refractory=5*ms,
                method='exact')
P.v = 'Vr + rand() * (Vt - Vr)'
P.ge = 0*mV
P.gi = 0*mV
we = (60*0.27/10)*mV
wi = (-20*4.5/10)*mV
Ce = Synapses(P, P, on_pre='ge += we')
Ci = Synapses(P, P, on_pre='gi += wi')
Ce.connect('i<3200', p=0.02)
Ci.connect('i>=3200', p=0.02)
s_mon = SpikeMonitor(P)
"""

CHILD = """
import json, sys, time
import brian2cppyy
from brian2 import *
target, cache_dir = sys.argv[1], sys.argv[2]
prefs.codegen.target = target
if target == 'cython':
    prefs.codegen.runtime.cython.cache_dir = cache_dir
else:
    prefs.codegen.runtime.cppyy.cache_dir = cache_dir
exec(MODEL)
built = time.process_time()
run(1 * second)
done = time.process_time()
print('BENCH ' + json.dumps({'build_cpu': built, 'run_cpu': done - built,
                             'spikes': int(s_mon.num_spikes),
                             'cache': brian2cppyy.analysis_cache.info()}))
"""

CONDITIONS = ("cppyy, empty cache", "cppyy, filled cache", "cython, warm cache")


def _sample(target, cache_dir):
    """One fresh process: its CPU time (user + sys) and its own report."""
    code = f"MODEL = {MODEL!r}\n" + CHILD
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, target, cache_dir],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = [x for x in proc.stdout.splitlines() if x.startswith("BENCH ")][-1]
    return dict(json.loads(line[6:]), cpu=cpu, wall=wall)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="analysis_cache_bench_")
    filled, cython = os.path.join(work, "filled"), os.path.join(work, "cython")
    _sample("cppyy", filled)  # fills the analysis cache
    _sample("cython", cython)  # fills Cython's cache
    samples = {name: [] for name in CONDITIONS}
    for repeat in range(args.repeats):
        samples[CONDITIONS[0]].append(_sample("cppyy", os.path.join(work, f"empty{repeat}")))
        samples[CONDITIONS[1]].append(_sample("cppyy", filled))
        samples[CONDITIONS[2]].append(_sample("cython", cython))
    medians = {name: {key: statistics.median(s[key] for s in rows)
                      for key in ("cpu", "wall", "build_cpu", "run_cpu")}
               for name, rows in samples.items()}
    print(f"{'condition':<22}{'process CPU':>12}{'build CPU':>11}{'run CPU':>9}{'wall':>8}")
    for name, m in medians.items():
        print(f"{name:<22}{m['cpu']:>11.2f}s{m['build_cpu']:>10.2f}s{m['run_cpu']:>8.2f}s"
              f"{m['wall']:>7.2f}s")
    empty, full, warm = (medians[name]["cpu"] for name in CONDITIONS)
    print(f"process CPU: empty / filled cache = {empty / full:.2f}x; "
          f"warm Cython / filled cache = {warm / full:.2f}x (medians of {args.repeats})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(),
                       "cpus": os.cpu_count(), "samples": samples, "medians": medians}, f,
                      indent=1)


if __name__ == "__main__":
    main()
