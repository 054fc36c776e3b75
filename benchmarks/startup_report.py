"""The start-up benchmark's summary, Markdown report and chart, from the JSON
of ``startup.py`` (pure functions of that JSON: nothing is measured here).

    python benchmarks/startup_report.py RESULTS-startup.json [--png OUT.png]

Per item (a workload of ``workloads.py`` or an example script) and mode
(``cppyy-first``, ``cppyy-later``, ``cython-warm``, ``cython-cold``): the
median of the whole process's wall time and CPU time (user + system, with
compilers), the median of each phase of the stacked breakdown
(``phases.workload_breakdown`` / ``phases.script_breakdown``), and the ratios
cppyy / warm Cython and cppyy / cold Cython of the process times.  The
targets of issue 15 are checked against these ratios (`check_targets`).
"""

import argparse
import json
import statistics
import sys

import phases

MODES = ("cppyy-first", "cppyy-later", "cython-warm", "cython-cold")
CPPYY_MODES = ("cppyy-first", "cppyy-later")
REFERENCES = ("cython-warm", "cython-cold")
#: the stacked phases, in the order of a run (a workload's, then a script's)
STACK = ("import", "cling_start", "analysis", "codegen", "compile", "first_run", "run", "loop",
         "other")
#: workloads where Brian2's analysis is heavy, and where its import dominates
ANALYSIS_HEAVY = ("coba", "cuba", "cobahh", "hh_expeuler")
IMPORT_BOUND = ("lif_small",)


def breakdown(sample):
    """The stacked phases (seconds) of one successful sample, or ``None``
    without the detail of ``sample.py --phases``."""
    detail = sample.get("detail") or {}
    if "script" in detail:
        return phases.script_breakdown(sample["phases"], detail["script"])
    if "before_loop" in detail:
        return phases.workload_breakdown(sample["phases"], detail["before_loop"],
                                         detail["in_loop"])
    return None


def _median(values):
    return statistics.median(values) if values else None


def summarise(samples):
    """{item: {mode: cell}}: per cell ``n``, ``n_ok``, ``process``,
    ``process_cpu`` (medians), ``stack`` (median per phase) and ``errors``."""
    summary = {}
    for s in samples:
        summary.setdefault(s["item"], {}).setdefault(s["mode"], []).append(s)
    out = {}
    for item, by_mode in summary.items():
        out[item] = {}
        for mode, cell in by_mode.items():
            ok = [s for s in cell if s.get("ok")]
            stacks = [b for b in (breakdown(s) for s in ok) if b]
            entry = {
                "n": len(cell), "n_ok": len(ok),
                "process": _median([s["phases"]["process"] for s in ok]),
                "process_cpu": _median([s["process_cpu_s"] for s in ok if "process_cpu_s" in s]),
                "stack": {p: _median([b[p] for b in stacks if p in b])
                          for p in STACK if any(p in b for b in stacks)},
            }
            errors = sorted({s.get("error", "?") for s in cell if not s.get("ok")})
            if errors:
                entry["errors"] = errors
            out[item][mode] = entry
    return out


def ratios(summary):
    """{item: {"<cppyy mode>/<reference>": {"wall": r, "cpu": r}}}."""
    out = {}
    for item, cells in summary.items():
        out[item] = {}
        for mine in CPPYY_MODES:
            for ref in REFERENCES:
                a, b = cells.get(mine), cells.get(ref)
                if not a or not b:
                    continue
                pair = {}
                for key, name in (("process", "wall"), ("process_cpu", "cpu")):
                    if a.get(key) is not None and b.get(key):
                        pair[name] = a[key] / b[key]
                if pair:
                    out[item][f"{mine}/{ref}"] = pair
    return out


def check_targets(ratio_table, kinds):
    """The targets of issue 15 as rows (target, wall-time ratio, CPU-time
    ratio, reached?): judged on wall time (what a user waits for); a target
    without measurements is left out.  ``kinds``: {item: "workload" or
    "example"}.  The first-ever rows give cold Cython / cppyy (a speed-up)."""
    def r(item, key, which="wall"):
        return ratio_table.get(item, {}).get(key, {}).get(which)

    rows = []
    for items, bound in ((ANALYSIS_HEAVY, 0.65), (IMPORT_BOUND, 1.0)):
        for item in items:
            x = r(item, "cppyy-later/cython-warm")
            if x is not None:
                rows.append((f"{item}: later process <= {bound}x warm Cython", x,
                             r(item, "cppyy-later/cython-warm", "cpu"), x <= bound))
    pairs = [(r(i, "cppyy-later/cython-warm"), r(i, "cppyy-later/cython-warm", "cpu"))
             for i, k in kinds.items() if k == "example"]
    pairs = [p for p in pairs if p[0] is not None]
    if pairs:
        worst = max(pairs, key=lambda p: p[0])
        rows.append((f"every example (later) <= 1.0x warm Cython (worst of {len(pairs)})",
                     worst[0], worst[1], worst[0] <= 1.0))
        median = statistics.median(p[0] for p in pairs)
        cpus = [p[1] for p in pairs if p[1] is not None]
        rows.append(("median example (later) <= 0.7x warm Cython", median,
                     statistics.median(cpus) if cpus else None, median <= 0.7))
    for item in kinds:
        x = r(item, "cppyy-first/cython-cold")
        if x is not None:
            cpu = r(item, "cppyy-first/cython-cold", "cpu")
            rows.append((f"{item}: first-ever process >= 10x sooner than cold Cython", 1 / x,
                         1 / cpu if cpu else None, x <= 0.1))
    return rows


def _fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def markdown(data):
    """The report: process times and ratios, the phase breakdown, the targets."""
    summary, table, kinds = data["summary"], data["ratios"], data["kinds"]
    out = [f"# Start-up benchmark {data['date'][:10]}", ""]
    out += [data.get("description", ""), ""]
    out += ["## Whole process (median wall s; CPU s in brackets) and ratios", "",
            "| item | " + " | ".join(MODES) + " | first/warm | first/cold | later/warm | later/cold |",
            "| --- |" + " ---: |" * (len(MODES) + 4)]
    for item in summary:
        cells = []
        for mode in MODES:
            c = summary[item].get(mode)
            if not c or c["process"] is None:
                cells.append("failed" if c else "—")
            else:
                cells.append(f"{c['process']:.2f} ({_fmt(c['process_cpu'])})")
        rs = [_fmt(table.get(item, {}).get(k, {}).get("wall")) for k in
              ("cppyy-first/cython-warm", "cppyy-first/cython-cold",
               "cppyy-later/cython-warm", "cppyy-later/cython-cold")]
        out.append(f"| {item} | " + " | ".join(cells + rs) + " |")
    out += ["", "## Phases (median wall s)", "",
            "| item | mode | " + " | ".join(STACK) + " |", "| --- | --- |" + " ---: |" * len(STACK)]
    for item in summary:
        for mode in MODES:
            stack = (summary[item].get(mode) or {}).get("stack")
            if stack:
                out.append(f"| {item} | {mode} | "
                           + " | ".join(_fmt(stack.get(p), 3) for p in STACK) + " |")
    out += ["", "## Targets (judged on wall time)", "",
            "| target | wall | CPU | reached? |", "| --- | ---: | ---: | --- |"]
    for name, wall, cpu, ok in check_targets(table, kinds):
        out.append(f"| {name} | {wall:.2f} | {_fmt(cpu)} | {'yes' if ok else 'no'} |")
    if data.get("skipped"):
        out += ["", "## Examples not sampled", ""]
        out += [f"* {item}: {why}" for item, why in data["skipped"].items()]
    failures = [(i, m, c["errors"]) for i in summary for m, c in summary[i].items()
                if c.get("errors")]
    if failures:
        out += ["", "## Failed samples", ""]
        out += [f"* {i} {m}: {'; '.join(e)[:300]}" for i, m, e in failures]
    return "\n".join(out) + "\n"


def _chart_limit(summary, items):
    """The x-axis limit: room for every bar but cold Cython's (which may
    be ten times longer: it is cut at the limit, its total written there)."""
    widths = [summary[i][m]["process"] / summary[i]["cython-warm"]["process"]
              for i in items for m in MODES[:3] if (summary[i].get(m) or {}).get("process")]
    return min(max([1.5] + [1.15 * w for w in widths]), 4.0)


def chart(data, path):
    """Stacked horizontal bars: per item, one bar per mode, each phase a
    segment, scaled to the item's warm-Cython process time (1 = warm
    Cython; the dashed line), with the process time in seconds at the end;
    bars longer than the axis are cut, their ratio written at the edge."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = data["summary"]
    items = [i for i in summary if (summary[i].get("cython-warm") or {}).get("process")]
    limit = _chart_limit(summary, items)
    colors = dict(zip(STACK, plt.get_cmap("tab10").colors))
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.6 * 4.4 * len(items) / 2))
    y, ticks, labels = 0.0, [], []
    for item in items:
        scale = summary[item]["cython-warm"]["process"]
        for mode in MODES:
            cell = summary[item].get(mode)
            ticks.append(y)
            labels.append(f"{item}  {mode}" if mode == MODES[0] else mode)
            if cell and cell.get("stack"):
                left = 0.0
                for phase in STACK:
                    width = max(cell["stack"].get(phase) or 0.0, 0.0) / scale
                    ax.barh(y, width, left=left, height=0.8, color=colors[phase])
                    left += width
                total = cell["process"] / scale
                text = f" {cell['process']:.2f} s ({total:.2f}x)"
                if total > limit:
                    text = f" {cell['process']:.0f} s ({total:.1f}x) >"
                ax.text(min(total, limit), y, text, va="center", fontsize=7,
                        ha="right" if total > limit else "left")
            y += 1
        y += 0.8
    ax.axvline(1.0, color="k", ls="--", lw=0.8)
    ax.set_xlim(0, limit)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("process time / warm Cython's process time (median); segments: phases")
    ax.legend(handles=[matplotlib.patches.Patch(color=colors[p], label=p) for p in STACK],
              ncol=len(STACK), fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              frameon=False)
    ax.set_title(f"Start-up, phase by phase ({data['date'][:10]}, "
                 f"{data['config']['samples']} sample(s) per cell)", fontsize=10, pad=22)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def finish(data):
    """Adds ``summary`` and ``ratios`` to the raw data (``samples``)."""
    data["summary"] = summarise(data["samples"])
    data["ratios"] = ratios(data["summary"])
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="a results JSON of startup.py")
    parser.add_argument("--png", help="also draw the chart here")
    args = parser.parse_args(argv)
    with open(args.json) as f:
        data = finish(json.load(f))
    if args.png:
        chart(data, args.png)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
