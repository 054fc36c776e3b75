"""``python -m brian2cppyy info``, the self-test and the cache counters."""

import json
import os
import subprocess
import sys

import pytest

import brian2cppyy
from brian2cppyy.cling import runtime, jit
from brian2cppyy.diagnostics import info


def _info(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "brian2cppyy", "info", *args],
        capture_output=True, text=True, timeout=600, env=env,
    )


def test_info_command():
    """``info --json`` in a fresh process; the text report of the same data."""
    proc = _info("--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["versions"]["brian2cppyy"] == brian2cppyy.__version__
    cling = report["cling"]
    assert cling["clang"][0].isdigit() and cling["cplusplus"] >= 201703
    assert report["pch"]["healthy"] and os.path.isfile(report["pch"]["path"])
    test = report["self_test"]
    assert test["ok"] and test["kernels_compiled"] > 0 and test["compile_seconds"] > 0
    assert [phase["name"] for phase in test["phases"]] == list(info.SELF_TEST_PHASES)
    assert report["cache"]["dir"]
    settings = {row["name"]: row for row in report["settings"]}
    assert set(settings) == {"optimisation_level", "fast_math", "extra_cling_args"}
    # Brian2's default C++ flags (-O3 -ffast-math), observed in a probe kernel
    assert settings["optimisation_level"]["requested"] == "3"
    assert settings["optimisation_level"]["status"] == "applied"
    assert settings["fast_math"]["applied"] is True
    assert settings["fast_math"]["status"] == "applied"
    assert settings["extra_cling_args"]["status"] == "not verified"

    text = info.format_report(report)
    for expected in ("brian2cppyy    " + brian2cppyy.__version__, "brian2", "cppyy-cling",
                     "Clang ", "flags passed ", "Compiler settings", "optimisation_level",
                     "Precompiled header", "status         OK", "Cache", "Self-test",
                     "result         OK", "first run", "total"):
        assert expected in text, expected
    assert "in use" not in text
    assert text.strip().endswith("OK")


def test_self_test_phases_add_up_to_the_compilation_they_contain():
    """Every compilation of the self-test falls in one of its phases (the
    report said "9 kernels compiled in 1.33 s" next to a first run of 1.14 s:
    kernels compiled while the model was built were counted but not timed)."""
    before = jit.stats()
    result = info.self_test(duration_ms=5)
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
    rows = {row["name"]: row for row in info.settings_rows(requested, applied)}
    assert rows["optimisation_level"]["status"] == "NOT APPLIED"
    assert rows["optimisation_level"]["source"] == "pref A"
    assert rows["fast_math"]["status"] == "not verified"
    assert rows["extra_cling_args"]["status"] == "not verified"
    text = "\n".join(info.format_settings(info.settings_rows(requested, applied)))
    assert "requested 3 [pref A]" in text and "NOT APPLIED (probe A)" in text


@pytest.mark.parametrize("level, fast_math, expected", [
    (0, False, ("0 (optimiser off)", None)),
    (2, False, ("1-3 (optimiser on)", False)),
    (3, True, ("1-3 (optimiser on)", True)),
])
def test_probes_observe_the_settings_in_compiled_code(level, fast_math, expected):
    from brian2 import prefs

    prefs.codegen.runtime.cppyy.optimisation_level = level
    prefs.codegen.runtime.cppyy.fast_math = fast_math
    observed = info._run_probes()
    assert (observed["optimisation_level"]["applied"], observed["fast_math"]["applied"]) == expected
    assert observed["optimisation_level"]["matches"] is True
    assert observed["fast_math"]["matches"] is (None if level == 0 else True)


def test_version_option():
    proc = subprocess.run([sys.executable, "-m", "brian2cppyy", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"brian2cppyy {brian2cppyy.__version__}"


def test_info_fails_with_an_unusable_precompiled_header(tmp_path):
    bad = tmp_path / "bad.pch"
    bad.write_bytes(b"garbage" * 1000)
    proc = _info(env=dict(os.environ, CLING_STANDARD_PCH=str(bad)))
    assert proc.returncode == 1
    assert "Cling cannot start" in proc.stdout
    assert "not a Clang precompiled header" in proc.stdout
    assert "status         PROBLEM" in proc.stdout
    assert proc.stdout.strip().endswith("FAILED")


def test_no_arguments_prints_help(capsys):
    assert info.main([]) == 2
    assert "info" in capsys.readouterr().out


def test_self_test_in_process_leaves_user_state_alone():
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    result = info.self_test(duration_ms=10)
    assert result["ok"], result["message"]
    assert prefs.codegen.target == "numpy"


def test_cache_info_and_cling_info():
    info.self_test(duration_ms=1)
    cache = brian2cppyy.cache_info()
    assert cache["started"] and cache["units"] >= cache["kernels"] > 0
    for key in ("compiled", "cache_hits", "failed", "compile_seconds", "headers",
                "libraries", "sources"):
        assert key in cache
    assert cache["compiled"] == brian2cppyy.stats()["compiled"]
    running = runtime.info()
    assert running["cppyy"] and running["cppyy_cling"] and running["clang"]
    assert running["pch"] is None or os.path.exists(running["pch"])
