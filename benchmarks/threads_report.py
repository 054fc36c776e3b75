"""The threads table of the benchmark report: the time-step loop
(``loop_core``) of cppyy on 1, 2 and 'auto' threads and of C++ standalone with
OpenMP on 1 and 2 threads, side by side in one run (``run.py
--threads-comparison``), with the speed-ups and the targets of issue 17:

* cppyy's speed-up at 2 threads (``cppyy`` / ``cppyy-t2``): at least 1.7 on
  the Hodgkin-Huxley workloads, 1.3 on coba and cuba, 0.97 (no loss) on
  lif_small;
* cppyy at 2 threads over standalone's OpenMP at 2 threads: at most 1.0 on
  every workload.

``loop_cpu`` (CPU time of every thread of the process during the timed run,
runtime targets only) shows the work the threads add (waiting, spinning).
"""

#: the speed-up each workload should reach at 2 threads (cppyy / cppyy-t2)
SPEEDUP_TARGETS = {"cobahh": 1.7, "hh_expeuler": 1.7, "coba": 1.3, "cuba": 1.3,
                   "lif_small": 0.97}
COLUMNS = ["cppyy", "cppyy-t2", "cppyy-tauto", "cpp_standalone-omp1", "cpp_standalone-omp2"]


def _median(summary, workload, target, phase):
    cell = summary.get(workload, {}).get(target)
    if not cell:
        return None
    entry = cell["phases"].get(phase)
    return entry["median"] if entry else None


def _ratio(a, b):
    return a / b if a is not None and b else None


def _fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def render(data):
    """Markdown lines of the threads table (empty if no threaded target ran)."""
    targets = data["config"]["targets"]
    if not any(t in targets for t in COLUMNS[1:]):
        return []
    summary = data["summary"]
    shown = [t for t in COLUMNS if t in targets]
    header = (["Workload"] + [f"{t} loop_core" for t in shown]
              + ["speed-up t2 (target)", "speed-up OpenMP 2", "t2 / OpenMP 2", "CPU t2 / t1"])
    lines = ["Threads (`loop_core` medians, seconds; speed-up: one thread over two):", "",
             "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for w in data["config"]["workloads"]:
        times = {t: _median(summary, w, t, "loop_core") for t in shown}
        speedup = _ratio(times.get("cppyy"), times.get("cppyy-t2"))
        goal = SPEEDUP_TARGETS.get(w)
        verdict = "" if speedup is None or goal is None else (
            f" (>= {goal}: {'met' if speedup >= goal else 'MISSED'})")
        cpu = _ratio(_median(summary, w, "cppyy-t2", "loop_cpu"),
                     _median(summary, w, "cppyy", "loop_cpu"))
        row = ([w] + [_fmt(times[t]) for t in shown]
               + [_fmt(speedup, 2) + verdict,
                  _fmt(_ratio(times.get("cpp_standalone-omp1"), times.get("cpp_standalone-omp2")), 2),
                  _fmt(_ratio(times.get("cppyy-t2"), times.get("cpp_standalone-omp2")), 2),
                  _fmt(cpu, 2)])
        lines.append("| " + " | ".join(row) + " |")
    return lines
