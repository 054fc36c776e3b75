"""benchmarks/startup_report.py: the start-up benchmark's breakdown, medians,
ratios, targets and Markdown table, from a made-up results JSON (nothing is
timed here)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
import startup_report  # noqa: E402


def _workload_sample(mode, process, cpu, analysis=0.5, ok=True):
    # import 1 + build 2 + first_run 1 + loop 0.5 = 4.5 s in the process
    return {
        "item": "coba", "mode": mode, "kind": "workload", "ok": ok,
        "phases": {"import": 1.0, "build": 2.0, "first_run": 1.0, "loop": 0.5,
                   "process": process},
        "process_cpu_s": cpu,
        "detail": {"before_loop": {"cling_start": 0.25, "analysis": analysis, "codegen": 0.5,
                                   "compile": 1.0, "run": 0.0},
                   "in_loop": {"cling_start": 0.0, "analysis": 0.0, "codegen": 0.125,
                               "compile": 0.0, "run": 0.0}},
    }


def _script_sample(mode, process):
    return {"item": "CUBA.py", "mode": mode, "kind": "example", "ok": True,
            "phases": {"import": 1.0, "script": 3.0, "process": process},
            "process_cpu_s": process,
            "detail": {"script": {"cling_start": 0.0, "analysis": 0.5, "codegen": 0.5,
                                  "compile": 0.5, "run": 1.0}}}


@pytest.fixture
def data():
    samples = [
        _workload_sample("cppyy-first", 6.0, 5.0), _workload_sample("cppyy-first", 8.0, 7.0),
        _workload_sample("cppyy-later", 4.0, 3.0), _workload_sample("cppyy-later", 5.0, 4.0),
        _workload_sample("cython-warm", 6.0, 6.0), _workload_sample("cython-warm", 8.0, 6.0),
        _workload_sample("cython-cold", 60.0, 70.0),
        _workload_sample("cython-cold", 99.0, 99.0, ok=False) | {"error": "timeout after 99 s"},
        _script_sample("cppyy-later", 3.0), _script_sample("cython-warm", 2.0),
    ]
    return startup_report.finish({
        "date": "2026-12-07T10:00:00+00:00", "config": {"samples": 2},
        "kinds": {"coba": "workload", "CUBA.py": "example"}, "samples": samples})


def test_a_workload_breakdown_adds_up_to_the_process_time(data):
    stack = startup_report.breakdown(data["samples"][0])
    assert stack["analysis"] == 0.5 and stack["codegen"] == 0.625
    # build + first_run (3 s) without the detail before the loop (2.25 s)
    assert stack["first_run"] == pytest.approx(0.75)
    assert stack["loop"] == pytest.approx(0.375)
    assert sum(stack.values()) == pytest.approx(6.0)
    assert stack["other"] == pytest.approx(1.5)


def test_a_script_breakdown_adds_up_to_the_process_time(data):
    stack = startup_report.breakdown(data["samples"][-2])
    assert stack["run"] == 1.0 and sum(stack.values()) == pytest.approx(3.0)


def test_medians_count_only_successful_samples_and_keep_the_errors(data):
    cold = data["summary"]["coba"]["cython-cold"]
    assert (cold["n"], cold["n_ok"], cold["process"]) == (2, 1, 60.0)
    assert cold["errors"] == ["timeout after 99 s"]
    assert data["summary"]["coba"]["cppyy-first"]["process"] == 7.0
    assert data["summary"]["coba"]["cppyy-first"]["stack"]["analysis"] == 0.5


def test_ratios_of_wall_and_cpu_time_against_both_cython_caches(data):
    coba = data["ratios"]["coba"]
    assert coba["cppyy-later/cython-warm"] == {"wall": 4.5 / 7.0, "cpu": 3.5 / 6.0}
    assert coba["cppyy-first/cython-cold"]["wall"] == pytest.approx(7.0 / 60.0)
    assert data["ratios"]["CUBA.py"] == {"cppyy-later/cython-warm": {"wall": 1.5, "cpu": 1.5}}


def test_targets_are_judged_on_the_measured_ratios(data):
    rows = {name: (wall, cpu, ok) for name, wall, cpu, ok in
            startup_report.check_targets(data["ratios"], data["kinds"])}
    assert rows["coba: later process <= 0.65x warm Cython"] == (
        pytest.approx(4.5 / 7.0), pytest.approx(3.5 / 6.0), True)
    assert rows["every example (later) <= 1.0x warm Cython (worst of 1)"] == (1.5, 1.5, False)
    assert rows["coba: first-ever process >= 10x sooner than cold Cython"] == (
        pytest.approx(60.0 / 7.0), pytest.approx(70.0 / 6.0), False)
    assert not any(name.startswith("lif_small") for name in rows)  # not measured


def test_the_markdown_table_shows_medians_ratios_and_failures(data):
    text = startup_report.markdown(data)
    assert "| coba | 7.00 (6.00) | 4.50 (3.50) | 7.00 (6.00) | 60.00 (70.00) | 1.00 | 0.12 | 0.64 | 0.07 |" in text
    assert "| CUBA.py | — | 3.00 (3.00) | 2.00 (2.00) | — | — | — | 1.50 | — |" in text
    assert "* coba cython-cold: timeout after 99 s" in text
    assert "| coba: later process <= 0.65x warm Cython | 0.64 | 0.58 | yes |" in text


def test_the_chart_is_drawn_from_the_summary(data, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "startup.png"
    startup_report.chart(data, str(path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
