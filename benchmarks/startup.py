"""The start-up benchmark (issue 15): how long a user waits for a whole
script, phase by phase, on cppyy with an empty and with a filled cache
against Cython with a warm and with a cold cache.

    python benchmarks/startup.py [--quick] [--workloads lif_small,coba] [--samples N]
                                 [--brian2-repo CLONE --examples CUBA,STDP|all|none]
                                 [--example-samples N] [--output STEM]

Items: the workloads of ``workloads.py`` and Brian2's example scripts of the
catalogue ``tools/brian2_examples.py`` (taken from a Brian2 clone, with the
same edits as ``tools/run_brian2_examples.py``).  Every sample is a fresh
process (``sample.py --phases``), its wall and CPU time recorded by
``sampling.run_in_workdir``; the modes alternate within each round
(A B C D A B C D ...):

``cppyy-first``  a first-ever process: ``codegen.runtime.cppyy.cache_dir`` is
                 a fresh, empty directory (made and removed outside the timed
                 process).  What stays: the installation (cppyy's precompiled
                 header shipped with cppyy-cling; for non-default Cling flags
                 the header cppyy built in the cache, copied into the fresh
                 directory, since it is built once per installation and set of
                 flags), Python's bytecode caches, and the operating system's
                 file cache (the files were read recently: not a cold boot).
``cppyy-later``  a later process: a fixed cache directory, wiped at the start
                 and filled by one untimed run of the item before its samples.
``cython-warm``  Cython with a fixed cache directory, wiped at the start and
                 warmed by one untimed run of the item before its samples.
``cython-cold``  Cython with a fresh, empty cache directory per sample.

Writes ``results/<date>-startup.json`` (every sample, machine, summary,
ratios), ``<date>-startup.md`` (the tables of ``startup_report.py``) and
``<date>-startup.png`` (stacked phases per item and mode).  ``--quick``: 1
sample of lif_small and coba and 3 short examples, written to
``<date>-startup-quick.*``.  Examples whose time-step loops take longer than
``--max-loop-seconds`` (default 30) on Cython are not sampled: their time is
their loops', not start-up (``run_brian2_examples.py`` compares those).
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
TMP_ROOT = os.path.join(RESULTS, "tmp")
SAMPLE = os.path.join(HERE, "sample.py")
LATER_CACHE = os.path.join(TMP_ROOT, "startup-cppyy-cache")
WARM_CACHE = os.path.join(TMP_ROOT, "startup-cython-cache")

sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
import brian2_examples  # noqa: E402
import startup_report  # noqa: E402
from sampling import machine_info, run_in_workdir  # noqa: E402
from workloads import WORKLOADS  # noqa: E402  (names only)

MODES = list(startup_report.MODES)
QUICK_WORKLOADS = ["lif_small", "coba"]
QUICK_EXAMPLES = ["CUBA.py", "frompapers/Brunel_Hakim_1999.py", "synapses/gapjunctions.py"]
SEED = 12345  # the seed of tools/run_brian2_examples.py
#: the methods paragraph of the report
DESCRIPTION = """`benchmarks/startup.py`: every sample a fresh process (`sample.py --phases`),
the modes alternating within each round; wall time of the whole process (what a user waits
for) and its CPU time (user + system, compilers included). Modes: **cppyy-first** — a
first-ever process: `codegen.runtime.cppyy.cache_dir` is a fresh empty directory (what stays
is the installation — cppyy's precompiled header, or for non-default Cling flags the one cppyy
built, copied in — Python's bytecode caches and the OS file cache: not a cold boot);
**cppyy-later** — a fixed cache directory filled by one untimed run of the item;
**cython-warm** — a fixed Cython cache warmed by one untimed run; **cython-cold** — a fresh
Cython cache. Phases: `import` (brian2cppyy and brian2), `cling_start`, `analysis`
(`StateUpdateMethod.apply_stateupdater`), `codegen` (the rest of `create_runner_codeobj` and
`device.code_object`), `compile`, `first_run` (workloads: the rest of building and
`net.run(0*ms)`), `loop` (workloads: the timed run), `run` (examples: the time-step loops),
`other` (interpreter start and exit; for examples the rest of the script)."""


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _fresh_cppyy_cache():
    """An empty cppyy cache directory, but for the precompiled headers that
    cppyy built in the later cache (an installation cost, see the docstring)."""
    path = tempfile.mkdtemp(prefix="cppyy-first-", dir=TMP_ROOT)
    for pch in glob.glob(os.path.join(LATER_CACHE, "*.pch")):
        shutil.copy2(pch, path)
    return path


def command(item, mode, script=None, workdir=None):
    """The sample command of ``item`` in ``mode`` (``workdir``: the fresh
    cache directory of a first-ever or cold sample)."""
    target = "cppyy" if mode.startswith("cppyy") else "cython"
    cmd = [sys.executable, SAMPLE, item, target, "--phases"]
    if script:
        cmd += ["--script", script, "--seed", str(SEED)]
    cache = {"cppyy-first": workdir, "cppyy-later": LATER_CACHE,
             "cython-warm": WARM_CACHE, "cython-cold": workdir}[mode]
    cmd += ["--cppyy-cache" if target == "cppyy" else "--cython-cache", cache]
    return cmd


def run_one(item, mode, script, timeout):
    """One sample in a fresh process (never raises)."""
    make_workdir = {
        "cppyy-first": _fresh_cppyy_cache,
        "cython-cold": lambda: tempfile.mkdtemp(prefix="cython-cold-", dir=TMP_ROOT),
    }.get(mode)
    return run_in_workdir(make_workdir, lambda workdir: command(item, mode, script, workdir),
                          {"item": item, "mode": mode}, timeout)


def _describe(record):
    ph = record["phases"]
    if not record["ok"]:
        return f"FAILED ({record.get('error', '?')[:200]}) after {ph['process']:.1f} s"
    stack = startup_report.breakdown(record) or {}
    parts = ", ".join(f"{p} {v:.2f}" for p, v in stack.items() if abs(v) >= 0.005)
    return f"process {ph['process']:.2f} s, cpu {record['process_cpu_s']:.2f} s: {parts}"


def _items(args, examples_root):
    """[(item, kind, script path or None)] in the order they are run."""
    if args.workloads:
        names = [w for v in args.workloads for w in v.split(",") if w]
    else:
        names = list(QUICK_WORKLOADS if args.quick else WORKLOADS)
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(unknown)} (known: {', '.join(WORKLOADS)})")
    items = [(w, "workload", None) for w in names]
    if examples_root is None:
        return items
    keys = args.examples.split(",") if args.examples not in (None, "all") else None
    if keys is None and args.quick and args.examples is None:
        keys = QUICK_EXAMPLES
    for example in brian2_examples.select(keys):
        items.append((example.path, "example", brian2_examples.prepare(example, examples_root)))
    return items


def measure(data, items, samples, example_samples, timeout, max_loop_seconds):
    """Warm-ups and the interleaved samples, appended to ``data``.  An example
    whose time-step loops took longer than ``max_loop_seconds`` in its
    warm-Cython warm-up is not sampled (noted in ``data["skipped"]``): its
    time is its loops', not start-up."""
    for path in (LATER_CACHE, WARM_CACHE):
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
    # builds the precompiled header in the later cache if the flags need one
    _log("warm-up (untimed): cppyy lif_small")
    rec = run_one("lif_small", "cppyy-later", None, timeout)
    data["warmup"].append(dict(rec, purpose="cppyy installation warm-up"))
    # that run's analysis cache must not help the first samples of lif_small
    _empty_but_pch(LATER_CACHE)
    for item, kind, script in items:
        for mode in ("cppyy-later", "cython-warm"):
            rec = run_one(item, mode, script, timeout)
            data["warmup"].append(dict(rec, purpose=f"{mode} cache warm-up"))
            if not rec["ok"]:
                _log(f"[{item}] {mode} warm-up failed: {rec.get('error')}")
        loops = (rec.get("detail") or {}).get("script", {}).get("run", 0.0)
        if kind == "example" and max_loop_seconds and loops > max_loop_seconds:
            data["skipped"][item] = f"its loops took {loops:.0f} s > {max_loop_seconds:.0f} s on Cython"
            _log(f"[{item}] skipped: {data['skipped'][item]}")
            continue
        n = samples if kind == "workload" else example_samples
        for r in range(n):
            for mode in MODES:
                rec = run_one(item, mode, script, timeout)
                rec.update(round=r, kind=kind)
                data["samples"].append(rec)
                _log(f"[{item} {r + 1}/{n}] {mode:12s} {_describe(rec)}")


def _empty_but_pch(path):
    """Removes everything in ``path`` but cppyy's precompiled headers."""
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if name.endswith(".pch") and os.path.isfile(full):
            continue
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.remove(full)


def _command_line(args):
    """This run's command line, with the clone's path (a path of this
    machine) replaced by a placeholder."""
    return [("<brian2 clone>" if args.brian2_repo and a == args.brian2_repo else a)
            for a in sys.argv]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", metavar="W",
                        help="workloads, comma or space separated (default: all; --quick: "
                             + ",".join(QUICK_WORKLOADS) + ")")
    parser.add_argument("--brian2-repo", help="a git clone of brian-team/brian2 (for the examples)")
    parser.add_argument("--rev", default="HEAD", help="the clone's revision (default HEAD)")
    parser.add_argument("--examples", help="'all' (default), 'none' or substrings of example "
                                           "paths, comma separated (--quick: 3 short ones)")
    parser.add_argument("--samples", type=int, help="samples per workload and mode "
                                                    "(default 5; --quick 1)")
    parser.add_argument("--example-samples", type=int,
                        help="samples per example and mode (default 3; --quick 1)")
    parser.add_argument("--max-loop-seconds", type=float, default=30,
                        help="skip examples whose time-step loops take longer on Cython "
                             "(default 30; 0: none skipped)")
    parser.add_argument("--quick", action="store_true", help="a smoke test (see the docstring)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--output", metavar="STEM", help="write STEM.json/.md/.png instead")
    args = parser.parse_args(argv)
    samples = args.samples or (1 if args.quick else 5)
    example_samples = args.example_samples or (1 if args.quick else 3)
    now = datetime.datetime.now().astimezone()
    stem = args.output or os.path.join(
        RESULTS, now.strftime("%Y-%m-%d") + "-startup" + ("-quick" if args.quick else ""))
    os.makedirs(TMP_ROOT, exist_ok=True)
    with_examples = args.brian2_repo and args.examples != "none"
    if not with_examples:
        _log("no examples (give --brian2-repo to run Brian2's example scripts)")
    with tempfile.TemporaryDirectory(dir=TMP_ROOT) as tmp:
        root = brian2_examples.checkout(args.brian2_repo, args.rev, None, tmp) if with_examples else None
        items = _items(args, root)
        data = {
            "schema": 1, "kind": "startup", "date": now.isoformat(timespec="seconds"),
            "quick": bool(args.quick),
            "config": {"items": [i for i, _, _ in items], "modes": MODES, "samples": samples,
                       "example_samples": example_samples, "timeout_s": args.timeout,
                       "command": _command_line(args)},
            "kinds": {i: k for i, k, _ in items},
            "description": DESCRIPTION,
            "machine": machine_info(), "warmup": [], "samples": [], "skipped": {},
        }
        t0 = time.perf_counter()
        measure(data, items, samples, example_samples, args.timeout, args.max_loop_seconds)
        data["total_wall_s"] = time.perf_counter() - t0
    data["machine"]["loadavg_end"] = list(os.getloadavg())
    startup_report.finish(data)
    with open(stem + ".json", "w") as f:
        json.dump(data, f, indent=1)
    text = startup_report.markdown(data)
    try:
        startup_report.chart(data, stem + ".png")
        text += f"\n![phases]({os.path.basename(stem)}.png)\n"
    except Exception as exc:  # noqa: BLE001  (the JSON and tables matter more)
        _log(f"chart failed: {type(exc).__name__}: {exc}")
    with open(stem + ".md", "w") as f:
        f.write(text)
    print(text)
    _log(f"wrote {os.path.relpath(stem, REPO)}.json/.md/.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
