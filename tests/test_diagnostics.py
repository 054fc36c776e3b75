"""``python -m brian2cppyy info``, the self-test and the cache counters."""

import json
import os
import subprocess
import sys

import pytest

import brian2cppyy
from brian2cppyy import diagnostics
from brian2cppyy.cling import jit, precompiled_header, runtime
from brian2cppyy.diagnostics import command_line, compiler_probes
from brian2cppyy.diagnostics.text import format_settings


def _info_json(env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "brian2cppyy", "info", "--json"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_info_command():
    """``info --json`` in a fresh process; the text report shows the same facts."""
    returncode, report, stderr = _info_json()
    assert returncode == 0, stderr
    assert report["ok"] is True
    assert report["versions"]["brian2cppyy"] == brian2cppyy.__version__
    cling = report["cling"]
    assert cling["clang"][0].isdigit() and cling["cplusplus"] >= 201703
    assert report["pch"]["healthy"] and os.path.isfile(report["pch"]["path"])
    test = report["self_test"]
    assert test["ok"] and test["kernels_compiled"] > 0 and test["compile_seconds"] > 0
    assert [phase["name"] for phase in test["phases"]] == list(diagnostics.SELF_TEST_PHASES)
    assert os.path.isdir(report["cache"]["dir"])
    settings = {row["name"]: row for row in report["settings"]}
    assert set(settings) == {"optimisation_level", "fast_math", "extra_cling_args", "threads"}
    # Brian2's default C++ flags (-O3 -ffast-math), observed in a probe kernel
    assert settings["optimisation_level"]["requested"] == "3"
    assert settings["optimisation_level"]["status"] == "applied"
    assert settings["fast_math"]["applied"] is True
    assert settings["fast_math"]["status"] == "applied"
    assert settings["extra_cling_args"]["status"] == "not verified"
    # the default thread count, as the C++ pool took it
    assert settings["threads"]["requested"] == 1 and settings["threads"]["applied"] == 1
    assert settings["threads"]["status"] == "applied"

    text = diagnostics.format_report(report)
    for fact in (brian2cppyy.__version__, report["versions"]["brian2"], cling["clang"],
                 report["pch"]["path"], report["cache"]["dir"], *settings,
                 *diagnostics.SELF_TEST_PHASES, test["message"]):
        assert fact in text, fact
    assert "in use" not in text
    assert text.splitlines()[-1] == "OK"


def test_info_reports_an_unusable_precompiled_header(tmp_path):
    """Cling is not started on a file that is not a Clang PCH: the report
    names the file and why, and the command fails."""
    bad = tmp_path / "bad.pch"
    bad.write_bytes(b"garbage" * 1000)
    returncode, report, _ = _info_json(env=dict(os.environ, CLING_STANDARD_PCH=str(bad)))
    assert returncode == 1
    assert report["ok"] is False
    reason = precompiled_header.problem(str(bad))
    assert str(bad) in report["cling"]["error"] and reason in report["cling"]["error"]
    assert not report["pch"]["healthy"]
    assert any(str(bad) in problem for problem in report["pch"]["problems"])
    assert report["self_test"]["ok"] is False
    assert diagnostics.format_report(report).splitlines()[-1] == "FAILED"


def test_info_child_gets_the_preferences_of_this_process():
    """What reaches the compiled code, measured in the child process by the
    probes: level 0 requested here, optimiser off in the child's kernels
    (Cling's start flags stay -O2)."""
    from brian2 import prefs

    prefs.codegen.runtime.cppyy.optimisation_level = 0
    report = diagnostics.info(run_self_test=False, timeout=300)
    assert "-O2" in report["cling"]["flags"].split(), report["cling"]
    rows = {row["name"]: row for row in report["settings"]}
    assert rows["optimisation_level"]["requested"] == "0"
    assert rows["optimisation_level"]["applied"] == "0 (optimiser off)", rows
    assert rows["optimisation_level"]["status"] == "applied", rows
    assert report["self_test"] is None


def test_self_test_phases_add_up_to_the_compilation_they_contain():
    """Every compilation of the self-test falls in one of its phases (the
    report said "9 kernels compiled in 1.33 s" next to a first run of 1.14 s:
    kernels compiled while the model was built were counted but not timed)."""
    before = jit.stats()
    result = diagnostics.self_test(duration_ms=5)
    after = jit.stats()
    assert result["ok"], result["message"]
    assert result["kernels_compiled"] == after["compiled"] - before["compiled"]
    assert result["kernels_cached"] == after["cache_hits"] - before["cache_hits"]
    assert result["compile_seconds"] == pytest.approx(
        after["compile_seconds"] - before["compile_seconds"])
    for phase in result["phases"]:
        assert 0 <= phase["compile_seconds"] <= phase["seconds"], phase
    assert result["seconds"] == pytest.approx(sum(p["seconds"] for p in result["phases"]))


def test_settings_rows_compare_requested_and_applied():
    requested = {"optimisation_level": ("3", "pref A"), "fast_math": (True, "pref B"),
                 "extra_cling_args": (["-march=native"], "pref C")}
    applied = {
        "optimisation_level": {"applied": "0 (optimiser off)", "how": "probe A", "matches": False},
        "fast_math": {"applied": None, "how": "probe B", "matches": None},
    }
    rows = compiler_probes.settings_rows(requested, applied)
    by_name = {row["name"]: row for row in rows}
    assert by_name["optimisation_level"]["status"] == "NOT APPLIED"
    assert by_name["optimisation_level"]["source"] == "pref A"
    assert by_name["fast_math"]["status"] == "not verified"
    assert by_name["extra_cling_args"]["status"] == "not verified"
    # each setting's text shows what was requested, from where, and the verdict
    text = "\n".join(format_settings(rows))
    level = text[text.index("optimisation_level"):text.index("fast_math")]
    for fact in ("3", "pref A", "0 (optimiser off)", "NOT APPLIED", "probe A"):
        assert fact in level, fact
    assert "-march=native" in text[text.index("extra_cling_args"):]


@pytest.mark.parametrize("level, fast_math, expected", [
    (0, False, ("0 (optimiser off)", None)),
    (2, False, ("1-3 (optimiser on)", False)),
    (3, True, ("1-3 (optimiser on)", True)),
])
def test_probes_observe_the_settings_in_compiled_code(level, fast_math, expected):
    from brian2 import prefs

    prefs.codegen.runtime.cppyy.optimisation_level = level
    prefs.codegen.runtime.cppyy.fast_math = fast_math
    observed = compiler_probes.run_probes()
    assert (observed["optimisation_level"]["applied"], observed["fast_math"]["applied"]) == expected
    assert observed["optimisation_level"]["matches"] is True
    assert observed["fast_math"]["matches"] is (None if level == 0 else True)


def test_version_option():
    proc = subprocess.run([sys.executable, "-m", "brian2cppyy", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert brian2cppyy.__version__ in proc.stdout.split()


def test_no_arguments_prints_help(capsys):
    assert command_line.main([]) == 2
    assert "info" in capsys.readouterr().out


def test_self_test_in_process_leaves_user_state_alone():
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    result = diagnostics.self_test(duration_ms=10)
    assert result["ok"], result["message"]
    assert prefs.codegen.target == "numpy"
    assert prefs.codegen.string_expression_target == "cppyy"  # as the fixture set it


def test_cache_info_and_cling_info():
    diagnostics.self_test(duration_ms=1)
    cache = brian2cppyy.cache_info()
    assert cache["started"] and cache["units"] >= cache["kernels"] > 0
    for key in ("compiled", "cache_hits", "failed", "compile_seconds", "headers",
                "libraries", "sources"):
        assert key in cache
    assert cache["compiled"] == brian2cppyy.stats()["compiled"]
    running = runtime.info()
    assert running["cppyy"] and running["cppyy_cling"] and running["clang"]
    assert running["pch"] is None or os.path.exists(running["pch"])
