"""The summary of a sweep benchmark's results (``sweep_bench.py``): the
throughputs and ratios of its modes, the table, the README section and the
chart."""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def first_and_later(mode):
    """``(firsts, laters)``: the first run of each process (the one that
    started first) and the others."""
    by_worker = {}
    for run in mode["runs"]:
        by_worker.setdefault(run["worker"], []).append(run)
    firsts, laters = [], []
    for runs in by_worker.values():
        ordered = sorted(runs, key=lambda r: r["started_s"])
        firsts.append(ordered[0])
        laters.extend(ordered[1:])
    return firsts, laters


def steady_throughput(laters):
    """Runs per second of the runs after each process's first, from the first
    of them starting to the last one ending."""
    if len(laters) < 2:
        return None
    span = max(r["ended_s"] for r in laters) - min(r["started_s"] for r in laters)
    return len(laters) / span


def summarise(modes):
    reference = {json.dumps(r["params"], sort_keys=True): r["n_spikes"]
                 for r in modes[0]["runs"]}
    for mode in modes:
        n = len(mode["runs"])
        mode["throughput_runs_per_s"] = n / mode["total_s"]
        if mode["startup_s"] is not None:
            mode["throughput_after_startup_runs_per_s"] = n / (mode["total_s"] - mode["startup_s"])
        firsts, laters = first_and_later(mode)
        mode["first_run_s"] = float(np.median([r["wall_s"] for r in firsts]))
        mode["later_run_s"] = float(np.median([r["wall_s"] for r in laters])) if laters else None
        mode["steady_runs_per_s"] = steady_throughput(laters)
        mode["same_spike_counts_as_" + modes[0]["mode"]] = all(
            reference[json.dumps(r["params"], sort_keys=True)] == r["n_spikes"]
            for r in mode["runs"])
        compiled = [r["kernels_compiled"] for r in mode["runs"] if r["kernels_compiled"] >= 0]
        if compiled:
            mode["runs_that_compiled"] = sum(c > 0 for c in compiled)
    by_name = {m["mode"]: m for m in modes}
    ratios = {}
    if "sweep-1" in by_name and "sweep-2" in by_name:
        ratios["sweep-2 / sweep-1"] = (by_name["sweep-2"]["throughput_runs_per_s"]
                                       / by_name["sweep-1"]["throughput_runs_per_s"])
        ratios["sweep-2 / sweep-1 after startup"] = (
            by_name["sweep-2"]["throughput_after_startup_runs_per_s"]
            / by_name["sweep-1"]["throughput_after_startup_runs_per_s"])
        ratios["sweep-2 / sweep-1 in steady state"] = (
            by_name["sweep-2"]["steady_runs_per_s"] / by_name["sweep-1"]["steady_runs_per_s"])
    pool = next((m for m in modes if m["mode"].startswith("pool-cython")), None)
    if pool is not None and "sweep-2" in by_name:
        ratios[f"sweep-2 / {pool['mode']}"] = (by_name["sweep-2"]["throughput_runs_per_s"]
                                              / pool["throughput_runs_per_s"])
    return ratios


def _figure(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}"


def table(modes, ratios):
    lines = ["| mode | processes | runs | total (s) | CPU (s) | startup (s) | runs/s whole sweep "
             "| runs/s after startup | runs/s steady state | first run of a process (s) "
             "| later runs (s, median) | runs that compiled |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in modes:
        runs = (f"{len(m['runs'])}" if m.get("complete", True)
                else f"{len(m['runs'])} of {m['n_runs']} (stopped at the time limit)")
        lines.append(f"| {m['mode']} | {m['processes']} | {runs} | {m['total_s']:.1f} "
                     f"| {_figure(m.get('cpu_s'), 1)} | {_figure(m['startup_s'], 1)} "
                     f"| {m['throughput_runs_per_s']:.2f} "
                     f"| {_figure(m.get('throughput_after_startup_runs_per_s'))} "
                     f"| {_figure(m.get('steady_runs_per_s'))} | {m['first_run_s']:.2f} "
                     f"| {_figure(m['later_run_s'])} | {m.get('runs_that_compiled', 'n/a')} |")
    lines.append("")
    lines += [f"* throughput {name}: **{value:.2f}x**" for name, value in ratios.items()]
    return "\n".join(lines)


def readme_text(data, json_path):
    """The README's section: what ran, where, the table and the chart."""
    m = data["machine"]
    png = os.path.splitext(json_path)[0] + ".png"
    relative = os.path.relpath(png, os.path.dirname(HERE))
    load = ", ".join(f"{x:.1f}" for x in m["load_average_at_start"])
    before = "; ".join(f"{mode['mode']} {mode['load_average_before'][0]:.2f}"
                       for mode in data["modes"] if "load_average_before" in mode)
    return "\n".join([
        f"Sweep benchmark ({os.path.relpath(json_path, os.path.dirname(HERE))}, "
        f"`benchmarks/sweep_bench.py`): {data['n_runs']} runs of a 1 000-neuron LIF network "
        f"(200 ms), one sample per mode, {m['cpu_count']} cores, Python {m['python']}, "
        f"Brian2 {m['brian2']}, cppyy {m['cppyy']}, Dask {m['dask']}; load average "
        f"{load} (1, 5, 15 min) at the start"
        + (f", 1-min load average before each mode: {before}" if before else "") + ".",
        "",
        table(data["modes"], data["ratios"]),
        "",
        f"![sweep benchmark]({relative})",
    ])


def update_readme(path, text):
    begin = "<!-- sweep benchmark: benchmarks/sweep_bench.py -->"
    end = "<!-- end of sweep benchmark -->"
    with open(path) as f:
        content = f.read()
    start, stop = content.index(begin) + len(begin), content.index(end)
    with open(path, "w") as f:
        f.write(content[:start] + "\n" + text + "\n" + content[stop:])


def chart(modes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    names = [m["mode"] for m in modes]
    x = np.arange(len(modes))
    left.bar(x - 0.2, [m["throughput_runs_per_s"] for m in modes], 0.4, label="whole sweep")
    left.bar(x + 0.2, [m.get("steady_runs_per_s") or 0 for m in modes], 0.4,
             label="steady state")
    left.set_xticks(x, names)
    left.set_ylabel("runs per second")
    left.legend()
    left.set_title(f"{len(modes[0]['runs'])} runs of a 1 000-neuron network")
    right.bar(x - 0.2, [m["first_run_s"] for m in modes], 0.4, label="first run of a process")
    right.bar(x + 0.2, [m["later_run_s"] or 0 for m in modes], 0.4, label="later runs (median)")
    right.set_xticks(x, names)
    right.set_yscale("log")
    right.set_ylabel("seconds per run")
    right.legend()
    right.set_title("compile once per process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
