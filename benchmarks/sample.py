"""Run ONE benchmark sample in this process and print one JSON line on stdout.

    python benchmarks/sample.py WORKLOAD TARGET [--cython-cache DIR] [--standalone-dir DIR]
                                [--cppyy-cache DIR] [--threads N] [--phases]
                                [--script PATH [--seed N]]

TARGET is ``cppyy``, ``cython``, ``numpy`` or ``cpp_standalone``.  Phases
(seconds, ``time.perf_counter``):

``import``
    ``import brian2cppyy`` (cppyy target only: the other targets do not need
    it) and ``import brian2``.
``build``
    the workload function: constructing the network objects (including the
    kernels that initialise variables and create synapses).
``first_run``
    ``net.run(0*ms)``: code generation and compilation of the run kernels.
    For ``cpp_standalone``: everything but the simulation loop, i.e. the
    ``net.run`` calls (code generation) plus ``device.build`` (writing the
    project, compiling it, starting the binary) minus the loop time.
``loop_core``
    ``device._last_run_time``: the time-step loop alone (for runtime
    targets ``loop`` also includes ``Network.run``'s preparation: creating
    the code objects and a ``gc.collect()``).
``loop``
    the timed ``net.run(duration)`` after the first run.  For
    ``cpp_standalone``: ``device._last_run_time`` as measured by the binary.

Cython: without ``--cython-cache`` a fresh temporary cache directory is used
and deleted afterwards (a cold cache); pass a warmed directory for a warm
cache.  cpp_standalone: without ``--standalone-dir`` the project is written to
a fresh temporary directory, deleted afterwards.  cppyy: ``--cppyy-cache``
sets ``codegen.runtime.cppyy.cache_dir`` right after ``import brian2cppyy``
(default: the preference's default).

``--threads N`` (an integer, or ``auto`` for cppyy): cppyy's
``codegen.runtime.cppyy.threads``, or cpp_standalone's
``devices.cpp_standalone.openmp_threads``.  ``loop_cpu`` is the CPU time
(``time.process_time``: every thread of this process) of the timed run, for
the runtime targets.

``--phases`` adds ``detail``: the time in Brian2's analysis, code generation,
compilation and Cling's start (``phases.py``), measured up to the end of the
first run (``before_loop``) and during the loop (``in_loop``).

``--script PATH`` runs an example script instead of a workload (WORKLOAD is
then only its label), as ``tools/run_brian2_examples.py`` does (matplotlib's
Agg backend, ``plt.show`` a no-op, Brian2's ``seed(N)`` before the script, the
script's directory as working directory): phases ``import`` and ``script``,
and with ``--phases`` the detail of the whole script (``run``: the time-step
loops, ``device._last_run_time`` of every run).

The JSON line also holds the peak resident set size (``getrusage``, of this
process and of its waited-for children: compilers, the standalone binary), the
spike counts of the workload's SpikeMonitors (to check that targets simulate
the same thing) and, for cppyy, ``brian2cppyy.stats()``.  On an error the line
has ``"ok": false`` and the error, and the exit status is 1.
"""

import time

_T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TMP_ROOT = os.path.join(HERE, "results", "tmp")
TARGETS = ("cppyy", "cython", "numpy", "cpp_standalone")


def _peak_rss_mb(who):
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(who).ru_maxrss / 1024.0


def _spike_counts(net):
    from brian2 import SpikeMonitor

    return {
        obj.name: int(obj.num_spikes)
        for obj in net.objects
        if isinstance(obj, SpikeMonitor)
    }


def _install_phase_clock(target, result, time_runs):
    import phases

    clock, missing = phases.install(target, time_runs=time_runs)
    result["detail"] = {"missing_hooks": missing}
    return clock


def _run_script(args, result):
    """``--script``: the example script in this process (see the docstring)."""
    import runpy

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brian2 import prefs, seed

    plt.show = lambda *a, **k: None
    prefs.codegen.target = args.target
    clock = _install_phase_clock(args.target, result, time_runs=True) if args.phases else None
    script = os.path.abspath(args.script)
    os.chdir(os.path.dirname(script))
    sys.path.insert(0, os.path.dirname(script))
    sys.argv = [script]
    seed(args.seed)
    t0 = time.perf_counter()
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        result["phases"]["script"] = time.perf_counter() - t0
        if clock:
            result["detail"]["script"] = clock.snapshot()
            result["detail"]["calls"] = dict(clock.calls)
    if args.target == "cppyy":
        import brian2cppyy

        result["cppyy_stats"] = brian2cppyy.stats()
    result["ok"] = True


def _set_threads(target, value):
    """The thread count of a target: cppyy's preference or standalone's OpenMP."""
    from brian2 import prefs

    if target == "cppyy":
        prefs.codegen.runtime.cppyy.threads = value if value == "auto" else int(value)
    elif target == "cpp_standalone":
        prefs.devices.cpp_standalone.openmp_threads = int(value)
    else:
        raise ValueError(f"--threads applies to cppyy and cpp_standalone, not {target}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # checked against workloads.WORKLOADS after the timed import of Brian2
    # (importing workloads imports Brian2)
    parser.add_argument("workload", help="a name in workloads.WORKLOADS")
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--cython-cache", metavar="DIR",
                        help="Cython cache directory (default: a fresh temporary one, i.e. cold)")
    parser.add_argument("--standalone-dir", metavar="DIR",
                        help="cpp_standalone project directory (default: a fresh temporary one)")
    parser.add_argument("--cppyy-cache", metavar="DIR",
                        help="codegen.runtime.cppyy.cache_dir (default: the preference's default)")
    parser.add_argument("--threads", metavar="N",
                        help="cppyy: codegen.runtime.cppyy.threads (N or 'auto'); "
                             "cpp_standalone: devices.cpp_standalone.openmp_threads")
    parser.add_argument("--phases", action="store_true",
                        help="also time analysis, code generation, compilation, Cling's start")
    parser.add_argument("--script", metavar="PATH", help="run this example script instead")
    parser.add_argument("--seed", type=int, default=12345, help="Brian2's seed for --script")
    args = parser.parse_args(argv)
    if args.script and args.target == "cpp_standalone":
        parser.error("--script runs on runtime targets only")

    result = {
        "workload": args.workload,
        "target": args.target,
        "ok": False,
        "phases": {},
        "pid": os.getpid(),
    }
    cleanup = []
    stage = "import"
    try:
        t0 = time.perf_counter()
        if args.target == "cppyy":
            import brian2cppyy  # noqa: F401  (registers the target)
        import brian2  # noqa: F401

        if args.cppyy_cache:
            brian2.prefs.codegen.runtime.cppyy.cache_dir = os.path.abspath(args.cppyy_cache)
        t1 = time.perf_counter()
        result["phases"]["import"] = t1 - t0

        from brian2 import device, ms, prefs, set_device

        sys.path.insert(0, HERE)
        if not args.script:
            import workloads

            if args.workload not in workloads.WORKLOADS:
                raise ValueError(
                    f"unknown workload {args.workload!r} (known: {', '.join(workloads.WORKLOADS)})"
                )
        stage = "setup"
        workdir = None
        if args.target == "cython":
            workdir = args.cython_cache
            result["cython_cache"] = "given" if workdir else "fresh"
            if workdir is None:
                os.makedirs(TMP_ROOT, exist_ok=True)
                workdir = tempfile.mkdtemp(prefix="cython-cold-", dir=TMP_ROOT)
                cleanup.append(workdir)
            prefs.codegen.target = "cython"
            prefs.codegen.runtime.cython.cache_dir = os.path.abspath(workdir)
        elif args.target == "cpp_standalone":
            workdir = args.standalone_dir
            if workdir is None:
                os.makedirs(TMP_ROOT, exist_ok=True)
                workdir = tempfile.mkdtemp(prefix="standalone-", dir=TMP_ROOT)
                cleanup.append(workdir)
            set_device("cpp_standalone", directory=workdir, build_on_run=False)
        else:
            prefs.codegen.target = args.target
        if args.threads is not None:
            _set_threads(args.target, args.threads)
            result["threads"] = args.threads

        if args.script:
            stage = "script"
            _run_script(args, result)
            return 0
        clock = _install_phase_clock(args.target, result, time_runs=False) if args.phases else None
        stage = "build"
        t0 = time.perf_counter()
        net, duration = workloads.WORKLOADS[args.workload]()
        t1 = time.perf_counter()
        result["phases"]["build"] = t1 - t0
        result["duration_s"] = float(duration)

        stage = "first_run"
        t0 = time.perf_counter()
        net.run(0 * ms)
        t1 = time.perf_counter()
        first_run = t1 - t0
        before_loop = clock.snapshot() if clock else None

        stage = "loop"
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        net.run(duration)
        t1 = time.perf_counter()
        loop = t1 - t0
        if args.target != "cpp_standalone":
            result["phases"]["loop_cpu"] = time.process_time() - cpu0
        if clock:
            after = clock.snapshot()
            result["detail"]["before_loop"] = before_loop
            result["detail"]["in_loop"] = {p: after[p] - before_loop[p] for p in after}
            result["detail"]["calls"] = dict(clock.calls)

        if args.target == "cpp_standalone":
            stage = "device.build"
            codegen = first_run + loop  # the net.run calls only generate code here
            t0 = time.perf_counter()
            device.build(directory=workdir, compile=True, run=True, with_output=False)
            t1 = time.perf_counter()
            device_build = t1 - t0
            loop = float(device._last_run_time)
            first_run = codegen + device_build - loop
            result["standalone"] = {"net_run_codegen": codegen, "device_build": device_build}

        result["phases"]["first_run"] = first_run
        result["phases"]["loop"] = loop
        # the time-step loop proper, without Network.run's preparation
        # (code objects, a gc.collect() for unused-object warnings):
        # Brian2 measures it as device._last_run_time for every target
        result["phases"]["loop_core"] = float(device._last_run_time)
        stage = "results"
        result["spikes"] = _spike_counts(net)
        if args.target == "cppyy":
            import brian2cppyy

            result["cppyy_stats"] = brian2cppyy.stats()
        result["ok"] = True
    except BaseException as exc:  # noqa: BLE001  (a sample reports, never crashes)
        result["error"] = f"{type(exc).__name__}: {exc}".strip()
        result["error_stage"] = stage
        result["traceback"] = traceback.format_exc()[-6000:]
    finally:
        result["in_process_total"] = time.perf_counter() - _T_START
        result["peak_rss_mb"] = _peak_rss_mb(resource.RUSAGE_SELF)
        result["peak_rss_children_mb"] = _peak_rss_mb(resource.RUSAGE_CHILDREN)
        sys.stdout.flush()
        sys.stderr.flush()
        print(json.dumps(result), flush=True)
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
