"""The report of ``python -m brian2cppyy info`` (`report.info`) as text:
one section per part of the report, the last line ``OK`` or ``FAILED``."""

__all__ = ["format_report", "format_settings"]


def _versions_lines(report):
    versions, cling = report["versions"], report["cling"]
    clang = ""
    if "clang" in cling:
        clang = f" (Cling with Clang {cling['clang']}, C++ {cling['cplusplus']})"
    lines = ["Versions",
             f"  brian2cppyy    {versions['brian2cppyy']}  ({report['package_dir']})"]
    lines += [f"  {key:<14} {versions[key]}" for key in ("brian2", "numpy", "cppyy")]
    lines += [f"  cppyy-cling    {versions['cppyy-cling']}{clang}",
              f"  cppyy-backend  {versions['cppyy-backend']}",
              f"  CPyCppyy       {versions['CPyCppyy']}",
              f"  python         {versions['python']} on {versions['platform']}"]
    return lines


def _cling_lines(report):
    cling = report["cling"]
    lines = ["Cling"]
    if "error" in cling:
        lines.append(f"  FAILED: {cling['error']}")
        lines += [f"    {line}" for line in cling.get("stderr", "").splitlines()[-15:]]
        return lines
    lines.append(f"  flags passed   {cling['flags'].strip()}  (in EXTRA_CLING_ARGS, when Cling started)")
    if cling["flags"].split() != report["requested_flags"].split():
        lines.append(f"                 (the preferences ask for '{report['requested_flags']}')")
    lines.append(f"  started in     {cling['start_seconds']:.2f} s")
    return lines


def _setting_text(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "(none)"
    return "-" if value is None else str(value)


def format_settings(rows):
    """The compiler settings (`compiler_probes.settings_rows`) as lines of
    text: what the preferences request (and which preference) next to what
    was observed in compiled code."""
    lines = ["Compiler settings (requested / observed in compiled code)"]
    for row in rows:
        lines.append(
            f"  {row['name']:<19} requested {_setting_text(row['requested'])} "
            f"[{row['source']}]"
        )
        lines.append(
            f"  {'':<19} applied   {_setting_text(row['applied'])}: {row['status']} "
            f"({row['how']})"
        )
    return lines


def _pch_lines(pch):
    lines = ["Precompiled header", f"  path           {pch['path']}"]
    if pch["healthy"]:
        lines.append(
            f"  status         OK ({pch['size_mb']:.1f} MB, readable; Cling started "
            "without a precompiled-header warning)"
        )
    else:
        lines.append("  status         PROBLEM")
        lines += [f"    - {problem}" for problem in pch["problems"]]
    return lines


def _cache_lines(report):
    from .. import analysis_cache

    cache = report["cache"]
    return ["Cache",
            f"  directory      {cache['dir']} ({cache['files']} files, {cache['size_mb']:.1f} MB;"
            " compiled kernels live in memory)",
            *analysis_cache.report_lines(report["analysis_cache"])]


def _phase_lines(test):
    """The self-test's phases as a table whose last row is their sum."""
    def row(name, figures):
        return (
            f"  {name:<14} {figures['seconds']:7.3f} s   {figures['compile_seconds']:7.3f} s   "
            f"{figures['kernels_compiled']:3d} kernels compiled, "
            f"{figures['kernels_cached']} more from the in-process cache"
        )

    lines = [f"  {'phase':<14} {'wall':>9}   {'Cling':>9}   (Cling: the part of the wall time spent compiling)"]
    lines += [row(phase["name"], phase) for phase in test["phases"]]
    lines.append(row("total", test))
    return lines


def _self_test_lines(test):
    lines = ["Self-test"]
    if test is None:
        return lines + ["  skipped"]
    lines.append(f"  result         {'OK' if test['ok'] else 'FAILED'}: {test['message']}")
    if "phases" in test:
        lines += _phase_lines(test)
    return lines


def format_report(report):
    """The report of `report.info` as text."""
    sections = [["brian2cppyy diagnostics"], _versions_lines(report), _cling_lines(report),
                format_settings(report["settings"]), _pch_lines(report["pch"]),
                _cache_lines(report), _self_test_lines(report["self_test"]),
                ["OK" if report["ok"] else "FAILED"]]
    return "\n\n".join("\n".join(section) for section in sections)
