"""The analysis cache in ``python -m brian2cppyy info`` (`brian2cppyy.diagnostics`).

The diagnostics run their self-test in a child process: the file (entries,
size) is read here, the hits and misses are the child's, i.e. those of the
self-test's model (all hits when an earlier ``info`` stored it).
"""

import os

__all__ = ["report", "report_lines"]


def report(child):
    """A plain dict for the diagnostics' JSON report; ``child`` is the child's
    report (``child["analysis_cache"]``: its `info`), or None."""
    from . import info

    stored = info()
    result = {key: stored[key] for key in ("path", "enabled", "entries", "bytes", "max_bytes")}
    in_child = (child or {}).get("analysis_cache") or {}
    result["self_test"] = {key: in_child.get(key) for key in ("hits", "misses", "hit_rate")}
    return result


def report_lines(cache):
    """The lines of the text report about the analysis cache."""
    state = "on" if cache["enabled"] else "off (codegen.runtime.cppyy.analysis_cache)"
    lines = [
        f"  analysis       {cache['entries']} entries, {cache['bytes'] / 2**10:.1f} kB of "
        f"{cache['max_bytes'] / 2**20:g} MB in {os.path.basename(cache['path'])}; {state}",
    ]
    test = cache["self_test"]
    if test.get("hits") is not None:
        rate = "-" if test["hit_rate"] is None else f"{100 * test['hit_rate']:.0f} %"
        lines.append(f"                 self-test: {test['hits']} hits, {test['misses']} "
                     f"misses (hit rate {rate})")
    return lines
