"""Print the Markdown benchmark table from a results JSON of ``run.py``.

    python benchmarks/report.py [RESULTS.json] [--all-phases]

Without an argument it reads the latest full run in ``benchmarks/results/``
(``<date>.json``), or the latest quick run (``<date>-quick.json``) if there is
no full run.  The README's benchmark summary (``--readme README.md``) is this
script's output, never typed by hand.

Per workload, two rows: ``loop`` (the timed ``net.run(duration)`` after a
first run) and ``process`` (the whole process wall time), the median per
target, and the ratios cppyy / cython-warm and cppyy / cpp_standalone for the
loop, cppyy / cython-cold and cppyy / cython-warm for the process
(a ratio below 1: cppyy is faster).  ``--all-phases`` adds a table with the
medians of every phase.  Runs with threaded targets get the threads table of
``threads_report.py``.

A workload named ``<base>_<k>x`` (e.g. ``long_recording_4x``) simulates ``k``
times as long as ``<base>``; when both are in the results, a second table
gives, per target, the time of the longer one over the time of the base
(``loop`` and ``loop_core``): ``k`` when the cost of a time step does not
depend on how long the network has run (e.g. on what monitors recorded).
"""

import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import threads_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
PHASES = ["import", "build", "first_run", "loop", "loop_core", "loop_cpu", "process"]
#: (phase, other target) pairs shown as "cppyy / other" columns
RATIO_COLUMNS = [
    ("cython-warm", ("loop", "loop_core", "process")),
    ("cython-cold", ("process",)),
    ("cpp_standalone", ("loop", "loop_core")),
]


def latest_results(directory=RESULTS):
    """The newest full run (``YYYY-MM-DD.json``), else the newest quick run."""
    full, quick = [], []
    for path in glob.glob(os.path.join(directory, "*.json")):
        name = os.path.basename(path)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", name):
            full.append(path)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}-quick\.json", name):
            quick.append(path)
    for group in (full, quick):
        if group:
            return max(group, key=lambda p: (os.path.basename(p), os.path.getmtime(p)))
    return None


def fmt_seconds(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.2g}" if x < 0.01 else f"{x:.3f}"


def fmt_ratio(x):
    if x is None:
        return "—"
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def _median(cell, phase):
    ph = cell.get("phases", {}).get(phase) if cell else None
    return ph["median"] if ph else None


def _workload_label(summary_w):
    for cell in summary_w.values():
        if "duration_s" in cell:
            d = cell["duration_s"]
            return f"{d * 1000:.0f} ms" if d < 1 else f"{d:g} s"
    return None


#: the name of a workload that runs another one k times as long
_SCALED_NAME = re.compile(r"(?P<base>.+)_(?P<factor>\d+)x")
#: the phases whose scaling with the simulated time is reported
SCALING_PHASES = ("loop", "loop_core")


def scaling_pairs(workloads):
    """``(base, longer, k)`` for each workload ``<base>_<k>x`` whose base is
    also in ``workloads``."""
    pairs = []
    for name in workloads:
        match = _SCALED_NAME.fullmatch(name)
        if match and match.group("base") in workloads:
            pairs.append((match.group("base"), name, int(match.group("factor"))))
    return pairs


def scaling_ratio(summary, base, longer, target, phase):
    """Median time of ``longer`` over median time of ``base`` (None if a
    median is missing or zero)."""
    t_base = _median(summary[base][target], phase)
    t_longer = _median(summary[longer][target], phase)
    if not t_base or t_longer is None:
        return None
    return t_longer / t_base


def render_scaling(summary, targets, pairs):
    """The table of the time ratios longer / base, one row per pair and phase."""
    lines = [
        "Scaling with the simulated time: time of the longer workload over the time "
        "of its base (equal to the duration factor when the cost of a step does not "
        "grow with what was simulated or recorded before).",
        "",
    ]
    header = ["Workloads", "Duration factor", "Time"] + targets
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---", "---:", "---"] + ["---:"] * len(targets)) + "|")
    for base, longer, factor in pairs:
        for i, phase in enumerate(SCALING_PHASES):
            row = [f"{longer} / {base}" if i == 0 else "", f"{factor}" if i == 0 else "", phase]
            for t in targets:
                row.append(fmt_ratio(scaling_ratio(summary, base, longer, t, phase)))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def render(data, source=None, all_phases=False):
    workloads = data["config"]["workloads"]
    targets = data["config"]["targets"]
    summary = data["summary"]
    ratios = data.get("ratios", {})
    m = data["machine"]
    v = m.get("versions", {})
    lines = []
    kind = "quick smoke run, " if data.get("quick") else ""
    lines.append(
        f"Benchmarks of {data['date'][:10]} ({kind}median of {data['config']['samples']} "
        f"samples per cell, seconds{'; ' + source if source else ''}): "
        f"{m.get('cpu')}, {m.get('usable_cores')} cores, Python {m.get('python')}, "
        f"Brian2 {v.get('brian2')}, brian2cppyy {v.get('brian2cppyy')}, cppyy {v.get('cppyy')}, "
        f"Cython {v.get('Cython')}, numpy {v.get('numpy')}; load average "
        f"{m.get('loadavg_start', ['?'])[0]:.2f} at the start."
    )
    lines.append("")
    lines.append(
        "`loop`: `net.run(duration)` after a first `net.run(0*ms)` "
        "(cpp_standalone: the binary's own run time). `loop_core`: the time-step loop "
        "alone (`device._last_run_time`), without `Network.run`'s preparation "
        "(code objects, a `gc.collect()`). `process`: the whole process, "
        "start to exit (import, build, code generation and compilation, run). "
        "Ratios are cppyy / other: below 1, cppyy is faster."
    )
    lines.append("")
    ratio_headers = []
    for other, phases in RATIO_COLUMNS:
        if other in targets and "cppyy" in targets:
            ratio_headers.append((other, phases))
    header = ["Workload", "Time"] + targets + [f"cppyy / {o}" for o, _ in ratio_headers]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|")
    notes = []
    for w in workloads:
        label = _workload_label(summary[w])
        wname = f"{w} ({label})" if label else w
        for i, phase in enumerate(("loop", "loop_core", "process")):
            row = [wname if i == 0 else "", phase]
            for t in targets:
                cell = summary[w][t]
                value = _median(cell, phase)
                text = fmt_seconds(value)
                if cell["n"] and cell["n_ok"] < cell["n"]:
                    mark = f"[{len(notes) + 1}]" if i == 0 else ""
                    text = "failed" if value is None else f"{text} ({cell['n_ok']}/{cell['n']} ok)"
                    if i == 0:
                        text += " " + mark
                        notes.append(f"{w} on {t}: {cell['n'] - cell['n_ok']} of {cell['n']} "
                                     f"samples failed: " + "; ".join(cell.get("errors", [])))
                row.append(text)
            for other, phases in ratio_headers:
                if phase in phases:
                    row.append(fmt_ratio(ratios.get(w, {}).get(other, {}).get(phase)))
                else:
                    row.append("")
            lines.append("| " + " | ".join(row) + " |")
    if notes:
        lines.append("")
        for k, note in enumerate(notes, 1):
            lines.append(f"[{k}] {note}")
    threads_lines = threads_report.render(data)
    if threads_lines:
        lines.append("")
        lines += threads_lines
    pairs = scaling_pairs(workloads)
    if pairs:
        lines.append("")
        lines += render_scaling(summary, targets, pairs)
    if all_phases:
        lines.append("")
        lines.append("Medians of every phase (seconds):")
        lines.append("")
        header = ["Workload", "Target"] + PHASES + ["peak RSS (MB)", "spikes"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|")
        for w in workloads:
            for t in targets:
                cell = summary[w][t]
                row = [w, t] + [fmt_seconds(_median(cell, p)) for p in PHASES]
                rss = cell.get("peak_rss_mb_median")
                row.append(f"{rss:.0f}" if rss is not None else "—")
                row.append(", ".join(str(s) for s in cell.get("spike_counts", [])) or "—")
                lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


#: the README's summary: (column title, other target, phase) of each ratio cppyy / other
SUMMARY_COLUMNS = [
    ("time-step loop vs warm Cython", "cython-warm", "loop_core"),
    ("vs C++ standalone", "cpp_standalone", "loop_core"),
    ("whole process vs warm Cython", "cython-warm", "process"),
    ("whole process vs cold Cython", "cython-cold", "process"),
]


def render_summary(data, source):
    """The README's dated summary: one row per workload, the ratios of
    `SUMMARY_COLUMNS` whose targets ran, and a link to the full results."""
    targets = data["config"]["targets"]
    columns = [c for c in SUMMARY_COLUMNS if c[1] in targets and "cppyy" in targets]
    notes = os.path.splitext(source)[0] + ".md"
    details = (f"every phase and target, and what the figures say: [{notes}]({notes})"
               if os.path.exists(os.path.join(os.path.dirname(HERE), notes))
               else f"every phase and target: `benchmarks/report.py {source}`")
    lines = [
        f"Benchmarks of {data['date'][:10]} (`make bench`; medians of "
        f"{data['config']['samples']} fresh processes per cell, "
        f"{data['machine'].get('usable_cores')} cores; {details}). Ratios are cppyy over "
        "the other target: below 1, cppyy is faster.",
        "",
        "| workload | " + " | ".join(title for title, _, _ in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for w in data["config"]["workloads"]:
        label = _workload_label(data["summary"][w])
        ratios = data.get("ratios", {}).get(w, {})
        cells = [fmt_ratio(ratios.get(other, {}).get(phase)) for _, other, phase in columns]
        lines.append(f"| {w}{f' ({label})' if label else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the Markdown benchmark table.")
    parser.add_argument("results", nargs="?", help="results JSON (default: the latest)")
    parser.add_argument("--all-phases", action="store_true",
                        help="also print the medians of every phase")
    parser.add_argument("--readme", metavar="README",
                        help="write the summary table (one row per workload) into README "
                             f"between the markers {README_START!r} and {README_END!r}")
    args = parser.parse_args(argv)
    path = args.results or latest_results()
    if path is None:
        print(f"no results in {RESULTS}; run benchmarks/run.py first", file=sys.stderr)
        return 1
    with open(path) as f:
        data = json.load(f)
    source = os.path.relpath(path, os.path.dirname(HERE))
    if args.readme:
        write_into_readme(args.readme, render_summary(data, source))
    else:
        print(render(data, source=source, all_phases=args.all_phases))
    return 0


README_START = "<!-- benchmark table: generated by benchmarks/report.py --readme -->"
README_END = "<!-- end of benchmark table -->"


def write_into_readme(readme, table):
    """Replace the text between the two markers of ``readme`` by ``table``."""
    with open(readme) as f:
        text = f.read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme} has no benchmark-table markers")
    text = text[: start + len(README_START)] + "\n" + table.rstrip() + "\n" + text[end:]
    with open(readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
