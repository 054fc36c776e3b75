"""The benchmark runner of brian2cppyy (``make bench``); see
docs/benchmark-protocol.md and benchmarks/README.md.

    python benchmarks/run.py [--workloads lif_small,coba,...] [--targets cppyy,numpy,...]
                             [--samples N] [--quick] [--timeout S] [--output STEM]
    python benchmarks/run.py --from-json benchmarks/results/<date>.json   # redraw, reprint

Every sample runs ``benchmarks/sample.py`` in a fresh process; the whole
process wall time is recorded as the phase ``process``.  Targets alternate
within each round (A B C A B C ...).  Targets:

``cppyy``           the brian2cppyy target
``cython-cold``     Brian2's Cython target, fresh (empty) cache directory per sample
``cython-warm``     Brian2's Cython target, a fixed cache directory warmed by one
                    untimed run of the workload before its samples
``numpy``           Brian2's numpy target
``cpp_standalone``  Brian2's C++ standalone device (compile and run)
``cppyy-tN``        cppyy with ``codegen.runtime.cppyy.threads = N`` (``cppyy-tauto``: 'auto')
``cpp_standalone-ompN``  C++ standalone with ``devices.cpp_standalone.openmp_threads = N``

``--threads-comparison`` runs ``THREAD_TARGETS`` (cppyy with 1, 2 and 'auto'
threads, standalone with OpenMP on 1 and 2 threads); ``report.py`` then adds
the speed-up of each threaded target over its one-thread run.

Writes ``benchmarks/results/<date>.json`` (every sample, medians, ratios,
machine information) and ``<date>.png`` (a chart), and prints the Markdown
table of ``report.py``.  ``--quick`` (2 samples of lif_small and coba, a smoke
test) writes ``<date>-quick.json`` / ``.png`` so that it never overwrites a
full run.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
TMP_ROOT = os.path.join(RESULTS, "tmp")
WARM_CACHE = os.path.join(TMP_ROOT, "cython-cache")
SAMPLE = os.path.join(HERE, "sample.py")

sys.path.insert(0, HERE)
import report  # noqa: E402
from sampling import machine_info, run_in_workdir  # noqa: E402
from workloads import WORKLOADS as _WORKLOAD_FUNCTIONS  # noqa: E402  (names only)

#: every workload of workloads.py, in its order (samples run in their own processes)
WORKLOADS = list(_WORKLOAD_FUNCTIONS)
TARGETS = ["cppyy", "cython-cold", "cython-warm", "numpy", "cpp_standalone",
           "cppyy-t2", "cppyy-tauto", "cpp_standalone-omp1", "cpp_standalone-omp2"]
DEFAULT_TARGETS = TARGETS[:5]
THREAD_TARGETS = ["cppyy", "cppyy-t2", "cppyy-tauto", "cpp_standalone-omp1",
                  "cpp_standalone-omp2"]
PHASES = ["import", "build", "first_run", "loop", "loop_core", "loop_cpu", "process"]
QUICK_WORKLOADS = ["lif_small", "coba"]


def _log(message):
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------- samples
def _threads_of(target):
    """(base target, threads or None) of a target name (see the docstring)."""
    for base, marker in (("cppyy", "-t"), ("cpp_standalone", "-omp")):
        if target.startswith(base + marker):
            return base, target[len(base + marker):]
    return target, None


def _sample_command(workload, target, workdir):
    target, threads = _threads_of(target)
    cmd = [sys.executable, SAMPLE, workload] + (["--threads", threads] if threads else [])
    if target == "cppyy":
        cmd.append("cppyy")
    elif target == "cython-cold":
        cmd += ["cython", "--cython-cache", workdir]
    elif target == "cython-warm":
        cmd += ["cython", "--cython-cache", WARM_CACHE]
    elif target == "numpy":
        cmd.append("numpy")
    elif target == "cpp_standalone":
        cmd += ["cpp_standalone", "--standalone-dir", workdir]
    else:
        raise ValueError(f"unknown target {target!r}")
    return cmd


def run_sample(workload, target, timeout):
    """One sample in a fresh process; returns its record (never raises)."""
    os.makedirs(TMP_ROOT, exist_ok=True)
    # fresh directories are made (and removed) here, outside the timed process
    fresh_dir = _threads_of(target)[0] in ("cython-cold", "cpp_standalone")
    make_workdir = (lambda: tempfile.mkdtemp(prefix=f"{target}-", dir=TMP_ROOT)) if fresh_dir else None
    return run_in_workdir(make_workdir, lambda workdir: _sample_command(workload, target, workdir),
                          {"workload": workload, "target": target}, timeout)


def _describe(record):
    ph = record["phases"]
    if not record["ok"]:
        return f"FAILED ({record.get('error', '?')[:200]}) after {ph['process']:.1f} s"
    return (f"loop {ph['loop']:.3f} s, first_run {ph['first_run']:.2f} s, "
            f"process {ph['process']:.2f} s, spikes {sum(record.get('spikes', {}).values())}")


# ----------------------------------------------------------------- summary
def summarise(samples, workloads, targets):
    summary = {}
    for w in workloads:
        summary[w] = {}
        for t in targets:
            cell = [s for s in samples if s["workload"] == w and s["target"] == t]
            ok = [s for s in cell if s["ok"]]
            entry = {"n": len(cell), "n_ok": len(ok), "phases": {}}
            for phase in PHASES:
                values = [s["phases"][phase] for s in ok if phase in s["phases"]]
                if values:
                    entry["phases"][phase] = {
                        "median": statistics.median(values),
                        "min": min(values),
                        "max": max(values),
                    }
            rss = [s["peak_rss_mb"] for s in ok if "peak_rss_mb" in s]
            if rss:
                entry["peak_rss_mb_median"] = statistics.median(rss)
            spikes = sorted({sum(s.get("spikes", {}).values()) for s in ok})
            entry["spike_counts"] = spikes
            if ok and "duration_s" in ok[0]:
                entry["duration_s"] = ok[0]["duration_s"]
            errors = sorted({s.get("error", "?") for s in cell if not s["ok"]})
            if errors:
                entry["errors"] = errors
            summary[w][t] = entry
    return summary


def ratios(summary, workloads, targets, base="cppyy"):
    """cppyy median / other median, per workload, other target and phase."""
    out = {}
    if base not in targets:
        return out
    for w in workloads:
        out[w] = {}
        mine = summary[w][base]["phases"]
        for t in targets:
            if t == base:
                continue
            theirs = summary[w][t]["phases"]
            out[w][t] = {
                phase: mine[phase]["median"] / theirs[phase]["median"]
                for phase in PHASES
                if phase in mine and phase in theirs and theirs[phase]["median"] > 0
            }
    return out


# ----------------------------------------------------------------- chart
def chart(data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = data["config"]["workloads"]
    targets = data["config"]["targets"]
    summary = data["summary"]
    fig, axes = plt.subplots(2, 1, figsize=(max(7, 1.9 * len(workloads) + 3), 8), sharex=True)
    width = 0.8 / len(targets)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, phase, title in zip(
        axes, ("loop", "process"),
        ("loop: net.run(duration) after the first run",
         "process: whole process wall time (what a user waits for)"),
    ):
        for j, t in enumerate(targets):
            xs, ys = [], []
            for i, w in enumerate(workloads):
                x = i + (j - (len(targets) - 1) / 2) * width
                ph = summary[w][t]["phases"].get(phase)
                if ph is None:
                    if summary[w][t]["n"]:
                        ax.text(x, 0.02, "failed", rotation=90, ha="center", va="bottom",
                                fontsize=7, color=colors[j % len(colors)],
                                transform=ax.get_xaxis_transform())
                    continue
                xs.append(x)
                ys.append(ph["median"])
            bars = ax.bar(xs, ys, width, label=t if phase == "loop" else None,
                          color=colors[j % len(colors)])
            ax.bar_label(bars, labels=[report.fmt_seconds(y) for y in ys], fontsize=6,
                         padding=1)
        ax.set_yscale("log")
        ax.margins(y=0.12)
        ax.set_ylabel("seconds (median, log scale)")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[-1].set_xticks(range(len(workloads)))
    axes[-1].set_xticklabels(workloads)
    fig.legend(fontsize=8, ncol=len(targets), loc="upper center", bbox_to_anchor=(0.5, 0.955),
               frameon=False)
    m = data["machine"]
    fig.suptitle(
        f"brian2cppyy benchmarks {data['date'][:10]} — {m['cpu']} ({m['usable_cores']} cores), "
        f"median of {data['config']['samples']} samples",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- main
def _split(values, allowed, what):
    items = []
    for v in values:
        items += [x for x in v.split(",") if x]
    unknown = [x for x in items if x not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(allowed)})")
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the brian2cppyy benchmarks.")
    parser.add_argument("--workloads", nargs="+", metavar="W",
                        help=f"workloads (comma or space separated; default: {','.join(WORKLOADS)})")
    parser.add_argument("--targets", nargs="+", metavar="T",
                        help=f"targets (default: {','.join(TARGETS)})")
    parser.add_argument("--threads-comparison", action="store_true",
                        help=f"targets {','.join(THREAD_TARGETS)} (threads against OpenMP)")
    parser.add_argument("--samples", type=int, default=None,
                        help="samples per workload and target (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 2 samples of lif_small and coba")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds after which a sample is killed and recorded as failed")
    parser.add_argument("--output", metavar="STEM",
                        help="write STEM.json and STEM.png instead of results/<date>[-quick]")
    parser.add_argument("--from-json", metavar="JSON",
                        help="run nothing: redraw the chart (next to JSON) and print the table")
    args = parser.parse_args(argv)

    if args.from_json:
        with open(args.from_json) as f:
            data = json.load(f)
        png_path = os.path.splitext(args.from_json)[0] + ".png"
        chart(data, png_path)
        _log(f"wrote {png_path}")
        print(report.render(data, source=os.path.relpath(args.from_json, REPO)))
        return 0

    workloads = _split(args.workloads, WORKLOADS, "workloads") if args.workloads else (
        list(QUICK_WORKLOADS) if args.quick else list(WORKLOADS))
    targets = _split(args.targets, TARGETS, "targets") if args.targets else list(
        THREAD_TARGETS if args.threads_comparison else DEFAULT_TARGETS)
    samples = args.samples if args.samples is not None else (2 if args.quick else 5)
    if samples < 1:
        raise SystemExit("--samples must be at least 1")

    now = datetime.datetime.now().astimezone()
    stem = args.output or os.path.join(
        RESULTS, now.strftime("%Y-%m-%d") + ("-quick" if args.quick else ""))
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    os.makedirs(TMP_ROOT, exist_ok=True)

    data = {
        "schema": 1,
        "date": now.isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "config": {"workloads": workloads, "targets": targets, "samples": samples,
                   "timeout_s": args.timeout, "command": sys.argv},
        "machine": machine_info(),
        "warmup": [],
        "samples": [],
    }
    _log(f"brian2cppyy benchmarks: {len(workloads)} workloads x {len(targets)} targets "
         f"x {samples} samples -> {stem}.json")
    t_total = time.perf_counter()

    # untimed warm-ups.  cppyy: builds cppyy's precompiled header if this is
    # the first use after installation (an install-time cost, not a run-time
    # one).  cython-warm: the fixed cache is wiped, then warmed by one run of
    # each workload before its samples.
    if "cppyy" in targets:
        _log("warm-up (untimed): cppyy lif_small")
        rec = run_sample("lif_small", "cppyy", args.timeout)
        rec["purpose"] = "cppyy installation warm-up"
        data["warmup"].append(rec)
    if "cython-warm" in targets:
        shutil.rmtree(WARM_CACHE, ignore_errors=True)
        os.makedirs(WARM_CACHE, exist_ok=True)

    for w in workloads:
        if "cython-warm" in targets:
            _log(f"[{w}] warm-up (untimed): cython cache {os.path.relpath(WARM_CACHE, REPO)}")
            rec = run_sample(w, "cython-warm", args.timeout)
            rec["purpose"] = "cython cache warm-up"
            data["warmup"].append(rec)
            if not rec["ok"]:
                _log(f"  warm-up failed: {rec.get('error')}")
        for r in range(samples):
            for t in targets:
                rec = run_sample(w, t, args.timeout)
                rec["round"] = r
                data["samples"].append(rec)
                _log(f"[{w} {r + 1}/{samples}] {t:15s} {_describe(rec)}")

    data["total_wall_s"] = time.perf_counter() - t_total
    data["machine"]["loadavg_end"] = list(os.getloadavg())
    data["summary"] = summarise(data["samples"], workloads, targets)
    data["ratios"] = ratios(data["summary"], workloads, targets)

    json_path = stem + ".json"
    with open(json_path, "w") as f:
        json.dump(data, f, indent=1)
    png_path = stem + ".png"
    try:
        chart(data, png_path)
    except Exception as exc:  # noqa: BLE001  (the JSON matters more than the chart)
        _log(f"chart failed: {type(exc).__name__}: {exc}")
        png_path = None
    _log(f"wrote {os.path.relpath(json_path, REPO)}"
         + (f" and {os.path.relpath(png_path, REPO)}" if png_path else ""))
    print(report.render(data, source=os.path.relpath(json_path, REPO)))
    n_failed = sum(not s["ok"] for s in data["samples"])
    if n_failed:
        _log(f"{n_failed} of {len(data['samples'])} samples failed (see the JSON)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
