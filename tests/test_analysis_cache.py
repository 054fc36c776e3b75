"""The analysis cache (`brian2cppyy.analysis_cache`): exact, safe, bounded,
visible, and only for the cppyy target."""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest

import brian2cppyy
from brian2 import (
    Equations, NeuronGroup, TimedArray, clear_cache, ms, prefs, run, set_device,
)
from brian2.devices.device import reset_device
from brian2.stateupdaters.base import StateUpdateMethod, UnsupportedEquationsException
from brian2.utils.logger import catch_logs
from brian2cppyy import analysis_cache
from brian2cppyy.analysis_cache import digest, hooks, stateupdate
from brian2cppyy.analysis_cache.store import AnalysisStore

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
LINEAR = Equations("dv/dt = (I - v)/tau : 1\ndI/dt = -I/tau_I : 1")
NONLINEAR = Equations("dv/dt = (v**2 - w)/tau : 1\ndw/dt = -w/tau : 1")


@pytest.fixture
def cache_dir(tmp_path):
    """An empty cache directory of its own for the test."""
    path = tmp_path / "cache"
    prefs.codegen.runtime.cppyy.cache_dir = str(path)
    return path


def _lookups():
    return dict(stateupdate.statistics)


def _delta(before):
    return {key: value - before[key] for key, value in _lookups().items()}


def _child_env(**extra):
    env = dict(os.environ, **extra)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([SRC] + paths)
    return env


def _start_models(cache, switch, everything):
    """The child that generates the models' code (``analysis_cache_models.py``).

    Brian2's own output depends on Python's string hashing in places (the
    order of ``xi_1``/``xi_2`` lines of stochastic state updaters, of
    declarations in generated code), so all children use the same hash seed:
    then Brian2 without the cache is deterministic and the comparison exact."""
    args = [sys.executable, os.path.join(HERE, "analysis_cache_models.py"), str(cache), switch]
    return subprocess.Popen(args + (["--all"] if everything else []), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=_child_env(PYTHONHASHSEED="0"))


def _report(proc):
    stdout, stderr = proc.communicate(timeout=1800)
    assert proc.returncode == 0, stderr[-3000:]
    line = [x for x in stdout.splitlines() if x.startswith("ANALYSIS_CACHE_MODELS ")][-1]
    report = json.loads(line.split(" ", 1)[1])
    assert report["package"].startswith(SRC)
    assert report["failures"] == []
    return report


@pytest.mark.parametrize("everything", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_generated_code_is_identical_without_cache_after_filling_and_from_cache(
        tmp_path, everything):
    """Brian2's state-updater tests and our workloads generate the same
    code objects and state updaters: without the cache, while a process fills
    it, and in another process that reads everything from it."""
    without, filling = (_start_models(tmp_path / switch, switch, everything)
                        for switch in ("off", "on"))
    off, filled = _report(without), _report(filling)
    read = _report(_start_models(tmp_path / "on", "on", everything))
    assert len(off["codeobjects"]) > 100 and len(off["derivations"]) > 100
    for report in (filled, read):
        assert report["codeobjects"] == off["codeobjects"]
        assert report["derivations"] == off["derivations"]
    assert off["info"]["entries"] == 0 and off["info"]["misses"] == 0
    assert filled["info"]["misses"] > 50 and filled["info"]["entries"] > 50
    # every lookup is answered from the other process's entries, but those
    # not stored because Brian2 warned (the deprecated 'independent' method)
    not_stored = filled["info"]["misses"] - filled["info"]["entries"]
    assert read["info"]["misses"] == not_stored <= 4
    assert read["info"]["hits"] + not_stored == filled["info"]["hits"] + filled["info"]["misses"]
    assert read["info"]["uncacheable"] == filled["info"]["uncacheable"] > 0


def test_hit_returns_the_derivation_and_unsupported_outcomes_are_remembered(cache_dir):
    before = _lookups()
    code = StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    with pytest.raises(UnsupportedEquationsException) as computed:
        StateUpdateMethod.apply_stateupdater(NONLINEAR, {}, "exact")
    assert _delta(before) == {"hits": 0, "misses": 2, "uncacheable": 0}
    assert StateUpdateMethod.apply_stateupdater(Equations(str(LINEAR)), {}, "EXACT") == code
    with pytest.raises(UnsupportedEquationsException) as stored:
        StateUpdateMethod.apply_stateupdater(NONLINEAR, {}, "exact")
    assert str(stored.value) == str(computed.value)
    assert _delta(before) == {"hits": 2, "misses": 2, "uncacheable": 0}
    assert analysis_cache.info()["entries"] == 2


def test_method_list_logs_brians_choice_from_the_cache(tmp_path):
    """Brian2's info message about the chosen method in a process that reads
    the outcomes of 'exact' (unsupported) and 'euler' from the cache."""
    script = (
        "import brian2cppyy\n"
        "from brian2 import *\n"
        "from brian2.utils.logger import catch_logs\n"
        f"prefs.codegen.runtime.cppyy.cache_dir = {str(tmp_path)!r}\n"
        "prefs.codegen.target = 'cppyy'\n"
        "G = NeuronGroup(2, 'dv/dt = (v**2 - w)/(10*ms) : 1\\ndw/dt = -w/(5*ms) : 1',"
        " name='quadratic')\n"
        "with catch_logs('INFO') as logs:\n"
        "    run(0*ms)\n"
        "print([m for _, name, m in logs if name.endswith('method_choice')])\n"
        "print(brian2cppyy.analysis_cache.info()['hits'])\n"
    )
    outputs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=600, env=_child_env()) for _ in range(2)]
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
    (first, first_hits), (second, second_hits) = [p.stdout.splitlines()[-2:] for p in outputs]
    for messages in (first, second):
        assert "No numerical integration method specified for group 'quadratic', using " \
               "method 'euler'" in messages
    assert (first_hits, second_hits) == ("0", "2")


def test_derivation_during_which_brian2_warns_is_not_stored(cache_dir):
    """A hit would lose the warning (here: 'independent' is deprecated)."""
    before = _lookups()
    for equations in ("dv/dt = -1/(10*ms) : 1", "dv/dt = -1/(10*ms) : 1",
                      "dv/dt = -2/(10*ms) : 1"):  # Brian2 warns once per process
        StateUpdateMethod.apply_stateupdater(Equations(equations), {}, "independent")
    assert _delta(before) == {"hits": 0, "misses": 3, "uncacheable": 0}
    assert analysis_cache.info()["entries"] == 0


def test_inputs_that_change_the_result_change_the_key():
    variables = NeuronGroup(1, "dv/dt = -v/tau : 1", namespace={"tau": 10 * ms}).variables
    keys = {
        stateupdate._key(LINEAR, {}, "exact", None),
        stateupdate._key(LINEAR, {}, "exact", {"simplify": False}),
        stateupdate._key(LINEAR, {}, "euler", None),
        stateupdate._key(LINEAR, {"v": variables["v"]}, "exact", None),
        stateupdate._key(Equations("dv/dt = (I - v)/tau : 1\ndI/dt = -I/tau : 1"), {},
                         "exact", None),
    }
    assert None not in keys and len(keys) == 5
    assert stateupdate._key(Equations(str(LINEAR)), {}, "exact", None) == \
        stateupdate._key(LINEAR, {}, "exact", None)


def test_undigestible_inputs_are_computed_without_the_cache(cache_dir):
    """A user's function (here a TimedArray, whose dt decides whether 'exact'
    applies) and a state updater of the user's are never looked up."""
    stimulus = TimedArray([1, 2, 3], dt=1 * ms)
    group = NeuronGroup(1, "dv/dt = (stimulus(t) - v)/(10*ms) : 1", method="exact")
    before = _lookups()
    run(0 * ms)
    assert _delta(before)["uncacheable"] == 1
    assert stateupdate._key(LINEAR, {"stimulus": stimulus}, "exact", None) is None
    custom = lambda eqs, variables, options: "v = v"  # noqa: E731
    assert StateUpdateMethod.apply_stateupdater(LINEAR, {}, custom) == "v = v"
    assert analysis_cache.info()["entries"] == 0
    assert group.v[0] == 0


def test_digest_rejects_unknown_types():
    class Opaque:
        pass

    for value in (Opaque(), object(), [1, Opaque()], {"a": {1, 2, Opaque()}}):
        with pytest.raises(digest.Undigestible):
            digest.digest(value)
    assert digest.digest([1, 2.0, "3"]) != digest.digest([1, 2, "3"])


def _tamper(cache_dir, sql, *args):
    with sqlite3.connect(cache_dir / "analysis.sqlite3") as connection:
        connection.execute(sql, args)
    connection.close()


@pytest.mark.parametrize("sql", [
    "UPDATE entries SET value = replace(value, 'exp', 'log')",  # digest no longer matches
    "UPDATE entries SET value = substr(value, 1, 20)",  # truncated
    "UPDATE entries SET fingerprint = 'another version'",
    "UPDATE entries SET kind = 'other'",
    "UPDATE entries SET value = X'00ff', value_sha256 = 'x'",
])
def test_altered_entry_is_recomputed_with_one_warning(cache_dir, sql):
    code = StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    _tamper(cache_dir, sql)
    hooks.current_store()._reported.clear()
    with catch_logs(only_from=("brian2", "brian2cppyy")) as logs:
        assert StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact") == code
        assert StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact") == code
    assert len(logs) == 1 and logs[0][0] == "WARNING"
    assert str(cache_dir / "analysis.sqlite3") in logs[0][2]  # the warning names the file


def test_entry_of_the_wrong_shape_is_recomputed(cache_dir):
    code = StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    text = json.dumps({"outcome": "code", "code": ["not", "text"]})
    _tamper(cache_dir, "UPDATE entries SET value = ?, value_sha256 = ?", text,
            hashlib.sha256(text.encode()).hexdigest())
    hooks.current_store()._reported.clear()
    with catch_logs(only_from=("brian2", "brian2cppyy")) as logs:
        assert StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact") == code
    assert len(logs) == 1 and "shape of a state update" in logs[0][2]


@pytest.mark.parametrize("content, warnings, hits", [
    (b"", 0, 1),  # SQLite's empty database: the table is created
    (b"not a database at all" * 100, 1, 0),  # foreign or corrupt: ignored
])
def test_corrupt_or_empty_database_file(cache_dir, content, warnings, hits):
    cache_dir.mkdir()
    (cache_dir / "analysis.sqlite3").write_bytes(content)
    hooks.current_store()._reported.clear()
    before = _lookups()
    with catch_logs(only_from=("brian2", "brian2cppyy")) as logs:
        first = StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
        assert StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact") == first
    assert len(logs) == warnings and all("clear_cache('cppyy')" in m for _, _, m in logs)
    assert _delta(before)["hits"] == hits


@pytest.mark.parametrize("where", ["file in the way", "cannot be created"])
def test_unusable_cache_directory_means_no_cache(tmp_path, where):
    if where == "file in the way":
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "cache"
    else:
        path = "/proc/brian2cppyy-cache"
    prefs.codegen.runtime.cppyy.cache_dir = str(path)
    with catch_logs(only_from=("brian2", "brian2cppyy")) as logs:
        code = StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    assert "_v" in code and logs == []
    assert analysis_cache.info()["entries"] == 0


def test_read_only_cache_is_read_but_not_written(cache_dir, monkeypatch):
    """A cache on a read-only file system (simulated: SQLite opens it
    read-only; the tests run as root, for whom permissions do not count)."""
    code = StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    from brian2cppyy.analysis_cache import store as store_module

    connect = sqlite3.connect
    monkeypatch.setattr(store_module.sqlite3, "connect", lambda path, **kwds: connect(
        f"file:{path}?mode=ro", uri=True, **kwds))
    before = _lookups()
    with catch_logs(only_from=("brian2", "brian2cppyy")) as logs:
        assert StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact") == code
        with pytest.raises(UnsupportedEquationsException):
            StateUpdateMethod.apply_stateupdater(NONLINEAR, {}, "exact")
    assert logs == [] and _delta(before) == {"hits": 1, "misses": 1, "uncacheable": 0}
    monkeypatch.undo()
    assert analysis_cache.info()["entries"] == 1


def test_import_does_not_fail_when_the_cache_directory_cannot_be_created(tmp_path):
    """A read-only home or a file where the cache directory should be."""
    (tmp_path / "xdg").write_text("a file, not a directory")
    script = ("import brian2cppyy\nfrom brian2 import *\nprefs.codegen.target = 'cppyy'\n"
              "G = NeuronGroup(1, 'dv/dt = -v/(10*ms) : 1', method='exact')\nG.v = 1\n"
              "run(1*ms)\nprint(G.v[0])")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, env=_child_env(XDG_CACHE_HOME=str(tmp_path / "xdg")))
    assert proc.returncode == 0, proc.stderr
    assert abs(float(proc.stdout.split()[-1]) - 0.9048374180359595) < 1e-12


def test_clear_cache_empties_it(cache_dir):
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    assert analysis_cache.info()["entries"] == 1
    clear_cache("cppyy")  # the directory set by the preference after the import
    assert not cache_dir.exists()
    before = _lookups()
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    assert _delta(before)["misses"] == 1 and analysis_cache.info()["entries"] == 1


def test_size_bound_removes_least_recently_used_entries(tmp_path):
    store = AnalysisStore(str(tmp_path), max_bytes=20_000)
    for i in range(100):
        store.put(f"key{i}", "test", "fp", {"text": "x" * 1000})
    summary = store.summary()
    assert summary["bytes"] <= 20_000 and 10 <= summary["entries"] < 20
    assert store.get("key99", "test", "fp") == {"text": "x" * 1000}
    assert store.get("key0", "test", "fp") is None
    store.put("big", "test", "fp", {"text": "x" * 30_000})  # larger than the bound
    assert store.get("big", "test", "fp") is None


WRITER = """
import sys
from brian2cppyy.analysis_cache.store import AnalysisStore
store = AnalysisStore(sys.argv[1], max_bytes=50 * 2**20)
for i in range(25):
    store.put(f"{sys.argv[2]}-{i}", "test", "fp", {"n": i, "text": sys.argv[2] * 500})
    assert store.get(f"{sys.argv[2]}-{i // 2}", "test", "fp")["n"] == i // 2
"""


def test_concurrent_processes_write_the_same_cache(tmp_path):
    """Four processes writing and reading one store at once: no error, no
    lost or damaged entry."""
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name],
                                env=_child_env(), stderr=subprocess.PIPE, text=True)
               for name in "abcd"]
    for writer in writers:
        assert writer.wait(timeout=600) == 0, writer.stderr.read()
    store = AnalysisStore(str(tmp_path), max_bytes=50 * 2**20)
    assert store.summary()["entries"] == 100
    for name in "abcd":
        for i in range(25):
            assert store.get(f"{name}-{i}", "test", "fp") == {"n": i, "text": name * 500}


def test_switched_off_by_the_preference(cache_dir):
    prefs.codegen.runtime.cppyy.analysis_cache = False
    before = _lookups()
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    assert _delta(before) == {"hits": 0, "misses": 0, "uncacheable": 0}
    assert not cache_dir.exists()
    assert analysis_cache.info()["enabled"] is False


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_other_targets_use_brians_function(cache_dir, target):
    prefs.codegen.target = target
    before = _lookups()
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    assert _delta(before) == {"hits": 0, "misses": 0, "uncacheable": 0}
    assert not cache_dir.exists()


def test_standalone_device_uses_brians_function(cache_dir):
    set_device("cpp_standalone", build_on_run=False)
    try:
        before = _lookups()
        StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
        assert _delta(before) == {"hits": 0, "misses": 0, "uncacheable": 0}
    finally:
        reset_device("runtime")
    before = _lookups()
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    delta = _delta(before)
    assert delta["misses"] + delta["hits"] == 1


def test_info_reports_entries_size_and_hit_rate(cache_dir):
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    StateUpdateMethod.apply_stateupdater(LINEAR, {}, "exact")
    info = analysis_cache.info()
    assert info["path"] == str(cache_dir / "analysis.sqlite3")
    assert info["entries"] == 1 and 0 < info["bytes"] <= info["file_bytes"]
    assert info["max_bytes"] == 50 * 2**20 and 0 < info["hit_rate"] <= 1
    lines = analysis_cache.report_lines(analysis_cache.report({"analysis_cache": info}))
    assert lines[0].strip().startswith("analysis       1 entries")
    assert "hit rate" in lines[1]


def test_cache_files_are_known_to_clear_cache():
    extensions = brian2cppyy.preferences.CACHE_EXTENSIONS
    name = brian2cppyy.preferences.ANALYSIS_CACHE_FILE
    assert any(name.endswith(ext) for ext in extensions)
    assert any((name + "-journal").endswith(ext) for ext in extensions)


def test_invalid_size_preference_is_rejected():
    from brian2.core.preferences import PreferenceError

    for bad in (0, -1, "10", None):
        with pytest.raises(PreferenceError, match="positive number of MB"):
            prefs.codegen.runtime.cppyy.analysis_cache_size = bad
