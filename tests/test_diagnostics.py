"""``python -m brian2cppyy info``, the self-test and the cache counters."""

import json
import os
import subprocess
import sys

import brian2cppyy
from brian2cppyy import diagnostics, jit


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
    assert "-O" in cling["flags"]
    assert report["pch"]["healthy"] and os.path.isfile(report["pch"]["path"])
    test = report["self_test"]
    assert test["ok"] and test["kernels_compiled"] > 0 and test["compile_seconds"] > 0
    assert report["cache"]["dir"]

    text = diagnostics.format_report(report)
    for expected in ("brian2cppyy    " + brian2cppyy.__version__, "brian2", "cppyy-cling",
                     "Clang ", "flags ", "Precompiled header", "status         OK",
                     "Cache", "Self-test", "result         OK", "kernels compiled by Cling"):
        assert expected in text, expected
    assert text.strip().endswith("OK")


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
    assert diagnostics.main([]) == 2
    assert "info" in capsys.readouterr().out


def test_self_test_in_process_leaves_user_state_alone():
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    result = diagnostics.self_test(duration_ms=10)
    assert result["ok"], result["message"]
    assert prefs.codegen.target == "numpy"


def test_cache_info_and_cling_info():
    diagnostics.self_test(duration_ms=1)
    info = brian2cppyy.cache_info()
    assert info["started"] and info["units"] >= info["kernels"] > 0
    for key in ("compiled", "cache_hits", "failed", "compile_seconds", "headers",
                "libraries", "sources"):
        assert key in info
    assert info["compiled"] == brian2cppyy.stats()["compiled"]
    cling = jit.cling_info()
    assert cling["cppyy"] and cling["cppyy_cling"] and cling["clang"]
    assert cling["pch"] is None or os.path.exists(cling["pch"])
