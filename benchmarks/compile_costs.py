"""Cling's fixed costs per phase, in CPU time: importing brian2cppyy and
cppyy, starting Cling (runtime headers), and compiling each kernel (template,
block), for a small model or a benchmark workload.

Each sample is a fresh process. With several ``NAME=SRC`` trees, samples
alternate between them (A B A B ...) and the table shows the median of each
phase side by side, e.g. this checkout against another one::

    python benchmarks/compile_costs.py --model trivial --runs 5 \\
        new=src main=../main/src

CPU time (``time.process_time``), not wall time: the machines are shared.
Trees that start Cling through cppyy's C API (``runtime.ready``) import no
cppyy module (``import cppyy`` is then 0) and start Cling on the main thread
here (``compile_in_background`` off, so that each unit is timed on its own).
``kernels`` is the CPU time of every compilation after Cling's start (kernels
and the runtime code they need); ``compile_block`` the time of each code
object block, including what it had compiled for it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = ("trivial",)  # and every workload of workloads.py


def _trivial():
    from brian2 import Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses

    group = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                        method="exact")
    group.v = "rand() * 2"
    synapses = Synapses(group, group, "w : 1", on_pre="v += w")
    synapses.connect(p=0.5)
    synapses.w = 0.1
    return Network(group, synapses, SpikeMonitor(group), StateMonitor(group, "v", record=True))


def child(model, out_path):
    """One sample: the CPU time of each phase, written to ``out_path``."""
    phases, compiles, blocks = {}, [], []
    last = time.process_time()

    def mark(name):
        nonlocal last
        now = time.process_time()
        phases[name] = now - last
        last = now

    import brian2  # noqa: F401
    mark("import brian2")
    import brian2cppyy  # noqa: F401
    mark("import brian2cppyy")
    from brian2cppyy.cling import runtime

    # trees after 2026-12-08 start Cling through cppyy's C API and do not
    # import cppyy's Python module; older ones import it here
    c_api_start = hasattr(runtime, "ready")
    if not c_api_start:
        import cppyy
    mark("import cppyy")

    def timed(compile_function):
        def timed_compile(source):
            start = time.process_time()
            try:
                return compile_function(source)
            finally:
                compiles.append(time.process_time() - start)

        return timed_compile

    from brian2 import prefs
    from brian2.core.preferences import PreferenceError
    from brian2cppyy.target import codeobject

    if not c_api_start:
        cppyy.cppdef = timed(cppyy.cppdef)
    if hasattr(runtime, "declare"):  # kernels' units (trees after 2026-12-07)
        runtime.declare = timed(runtime.declare)
    try:  # each unit's cost on its own: compiled when its code object is made
        prefs["codegen.runtime.cppyy.compile_in_background"] = False
    except PreferenceError:
        pass  # a tree without the compile thread
    (runtime.ready if c_api_start else runtime.start)()
    mark("Cling start")
    n_start = len(compiles)
    compile_block = codeobject.CppyyCodeObject.compile_block

    def timed_block(self, block):
        start, n = time.process_time(), len(compiles)
        try:
            return compile_block(self, block)
        finally:
            if len(compiles) > n:
                blocks.append((f"{self.template_name}.{block}", time.process_time() - start))

    codeobject.CppyyCodeObject.compile_block = timed_block
    from brian2 import ms

    prefs.codegen.target = "cppyy"
    if model == "trivial":
        network = _trivial()
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import workloads

        network, _ = getattr(workloads, model)()
    mark("build")
    network.run(0 * ms)
    mark("first run")
    phases["kernels"] = sum(compiles[n_start:])
    with open(out_path, "w") as f:
        json.dump({"phases": phases, "blocks": blocks}, f)


def _sample(model, src):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    env = dict(os.environ, PYTHONPATH=src)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", model, path]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sample of {model} with {src} failed:\n{proc.stderr[-2000:]}")
    with open(path) as f:
        result = json.load(f)
    os.unlink(path)
    return result


def _summary(samples):
    """Medians (ms) of each phase and of the per-block figures."""
    rows = {}
    for key in samples[0]["phases"]:
        rows[key] = statistics.median(s["phases"][key] for s in samples) * 1000
    start = ("import brian2cppyy", "import cppyy", "Cling start")
    rows["import brian2cppyy + cppyy + Cling start"] = statistics.median(
        sum(s["phases"][k] for k in start) for s in samples) * 1000
    rows["compile_block median"] = statistics.median(
        statistics.median(t for _, t in s["blocks"]) for s in samples) * 1000
    rows["compile_block count"] = statistics.median(len(s["blocks"]) for s in samples)
    per_block = {}
    for s in samples:
        for name, t in s["blocks"]:
            per_block.setdefault(name, []).append(t * 1000)
    return rows, {name: statistics.median(v) for name, v in per_block.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="trivial",
                        help="'trivial' or a workload of workloads.py (lif_small, coba, ...)")
    parser.add_argument("--runs", type=int, default=3, help="samples per tree")
    parser.add_argument("trees", nargs="*", metavar="NAME=SRC",
                        help="source trees to compare (default: this checkout's src)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    trees = dict(t.split("=", 1) for t in args.trees) or {"this": here}
    samples = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, src in trees.items():
            samples[name].append(_sample(args.model, os.path.abspath(src)))
    summaries = {name: _summary(s) for name, s in samples.items()}
    print(f"{args.model}: median CPU ms of {args.runs} fresh processes per tree, alternating")
    print(f"{'phase':42s}" + "".join(f"{name:>12s}" for name in trees))
    for key in next(iter(summaries.values()))[0]:
        print(f"{key:42s}" + "".join(f"{summaries[n][0][key]:12.0f}" for n in trees))
    for name in trees:
        blocks = ", ".join(f"{k} {v:.0f}" for k, v in summaries[name][1].items())
        print(f"{name}: {blocks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
