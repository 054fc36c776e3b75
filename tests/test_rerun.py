"""Repeated runs: an unchanged network reuses its code objects
(`brian2cppyy.loop.run_reuse`), and whatever changes between two runs still gives
Brian2's results.

Each scenario is a sequence of runs with changes in between. It runs three
times: on cppyy with code objects reused, on cppyy with
``codegen.runtime.cppyy.reuse_code_objects = False`` (every run generates its
code objects, as Brian2 does), which must give bit-identical results, and on
Brian2's numpy target, which must agree to floating-point noise (so that a
change that both cppyy runs missed would still be seen). The names of the
code objects of each run tell whether they were reused (the same name) or
created anew (Brian2 names each new one differently).
"""

import gc
import subprocess
import sys
import weakref

import numpy as np
import pytest
from brian2 import (
    Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray, check_units,
    defaultclock, implementation, ms, prefs, seed, start_scope,
)
from brian2.utils.logger import catch_logs


def _copies(**arrays):
    """Copies of the arrays a scenario returns: Brian2's views of a monitor's
    dynamic arrays do not keep them alive once the monitor is gone."""
    return {name: np.array(values, copy=True) for name, values in arrays.items()}


def _codeobj_names(net):
    """The names of the code objects of ``net``'s objects, by object."""
    return {obj.name: [codeobj.name for codeobj in obj.code_objects]
            for obj in net.sorted_objects if obj.code_objects}


def _run_scenario(scenario, target, reuse):
    start_scope()
    defaultclock.dt = 0.1 * ms
    prefs.codegen.target = prefs.codegen.string_expression_target = target
    prefs.codegen.runtime.cppyy.reuse_code_objects = reuse
    seed(2024)
    names = []
    try:
        results = scenario(lambda net: names.append(_codeobj_names(net)))
    finally:
        prefs.codegen.target = prefs.codegen.string_expression_target = "cppyy"
        prefs.codegen.runtime.cppyy.reuse_code_objects = True
        defaultclock.dt = 0.1 * ms
    return results, names


def _check(scenario, rtol=1e-9):
    """Run ``scenario(record)`` with reuse, without, and on numpy; compare
    the results; return the code objects' names of each run (with reuse)."""
    reused, names = _run_scenario(scenario, "cppyy", True)
    fresh, _ = _run_scenario(scenario, "cppyy", False)
    numpy, _ = _run_scenario(scenario, "numpy", True)
    assert reused.keys() == fresh.keys() == numpy.keys()
    for key in reused:
        np.testing.assert_array_equal(reused[key], fresh[key], err_msg=key)
        np.testing.assert_allclose(reused[key], numpy[key], rtol=rtol, atol=1e-12,
                                   err_msg=key)
    return names


def _same(names, a, b, obj):
    return names[a][obj] == names[b][obj]


# -- nothing changes -----------------------------------------------------------------

def test_unchanged_network_reuses_every_code_object():
    def scenario(record):
        G = NeuronGroup(50, "dv/dt = (1.2 - v) / (10*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="g")
        G.v = "i / 50.0"
        S = Synapses(G, G, "w : 1", on_pre="v_post += w", name="s")
        S.connect(j="(i + 1) % 50")
        S.w = 0.05
        spikes = SpikeMonitor(G, name="spikes")
        trace = StateMonitor(G, "v", record=[0, 7], name="trace")
        net = Network(G, S, spikes, trace)
        for _ in range(3):
            net.run(5 * ms)
            record(net)
        return _copies(i=spikes.i[:], t=spikes.t[:], v=trace.v[:], v_end=G.v[:])

    names = _check(scenario)
    assert len(names[0]) >= 5
    assert names[0] == names[1] == names[2]


def test_without_reuse_every_run_creates_its_code_objects():
    def scenario(record):
        G = NeuronGroup(2, "dv/dt = -v / (10*ms) : 1", method="exact", name="g")
        net = Network(G)
        net.run(1 * ms)
        record(net)
        net.run(1 * ms)
        record(net)
        return _copies(v=G.v[:])

    _, names = _run_scenario(scenario, "cppyy", False)
    assert not _same(names, 0, 1, "g_stateupdater")


# -- external constants are resolved at every run --------------------------------------

def test_changed_constant_in_the_callers_namespace():
    def scenario(record):
        tau = 10 * ms
        drive = 2
        G = NeuronGroup(3, "dv/dt = (drive - v) / tau : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="g")
        trace = StateMonitor(G, "v", record=True, name="trace")
        net = Network(G, trace)
        net.run(2 * ms)
        record(net)
        net.run(2 * ms)  # unchanged: reused
        record(net)
        tau = 4 * ms  # noqa: F841 - read by the run through the caller's namespace
        net.run(2 * ms)
        record(net)
        drive = 2.5  # noqa: F841 - an int becomes a float: another dtype
        net.run(2 * ms)
        record(net)
        return _copies(v=trace.v[:])

    names = _check(scenario)
    assert _same(names, 0, 1, "g_stateupdater")
    assert not _same(names, 1, 2, "g_stateupdater")
    assert not _same(names, 2, 3, "g_stateupdater")
    assert _same(names, 0, 3, "trace")  # the monitor does not use tau


def test_changed_constant_in_the_groups_namespace_and_the_run_namespace():
    def scenario(record):
        G = NeuronGroup(3, "dv/dt = (1 - v) / tau : 1", method="exact",
                        namespace={"tau": 10 * ms}, name="g")
        H = NeuronGroup(3, "dv/dt = (1 - v) / tau_h : 1", method="exact", name="h")
        trace = StateMonitor(G, "v", record=True, name="trace")
        trace_h = StateMonitor(H, "v", record=True, name="trace_h")
        net = Network(G, H, trace, trace_h)
        net.run(2 * ms, namespace={"tau_h": 3 * ms})
        record(net)
        G.namespace["tau"] = 5 * ms
        net.run(2 * ms, namespace={"tau_h": 3 * ms})
        record(net)
        net.run(2 * ms, namespace={"tau_h": 6 * ms})
        record(net)
        return _copies(v=trace.v[:], v_h=trace_h.v[:])

    names = _check(scenario)
    assert not _same(names, 0, 1, "g_stateupdater")
    assert _same(names, 0, 1, "h_stateupdater")
    assert not _same(names, 1, 2, "h_stateupdater")


def test_a_new_timed_array_under_the_same_name():
    def scenario(record):
        stimulus = TimedArray([0.0, 1.0, 2.0, 3.0], dt=1 * ms)
        G = NeuronGroup(2, "dv/dt = (stimulus(t) - v) / (2*ms) : 1", method="euler",
                        name="g")
        trace = StateMonitor(G, "v", record=True, name="trace")
        net = Network(G, trace)
        net.run(2 * ms)
        record(net)
        stimulus = TimedArray([5.0, -1.0, 0.5, 4.0], dt=1 * ms)  # noqa: F841
        net.run(2 * ms)
        record(net)
        return _copies(v=trace.v[:])

    names = _check(scenario)
    assert not _same(names, 0, 1, "g_stateupdater")


# -- values set from Python are read when the kernels run ------------------------------

def test_values_set_from_python_between_runs():
    def scenario(record):
        G = NeuronGroup(20, "dv/dt = (I - v) / (5*ms) : 1\nI : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="g")
        G.I = 1.5
        S = Synapses(G, G, "w : 1", on_pre="v_post += w", name="s")
        S.connect(j="(i + 3) % 20")
        S.w = 0.1
        S.delay = 0.5 * ms
        spikes = SpikeMonitor(G, name="spikes")
        net = Network(G, S, spikes)
        net.run(10 * ms)
        record(net)
        G.v = np.linspace(0, 0.9, 20)
        G.I[:5] = 3.0
        S.w[2:8] = -0.3
        S.delay[:4] = 1.5 * ms
        net.run(10 * ms)
        record(net)
        return _copies(i=spikes.i[:], t=spikes.t[:], v=G.v[:])

    names = _check(scenario)
    assert names[0] == names[1]


def test_store_and_restore():
    def scenario(record):
        G = NeuronGroup(10, "dv/dt = (1.5 - v) / (5*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="g")
        G.v = "rand()"
        S = Synapses(G, G, "w : 1", on_pre="v_post += w", name="s")
        S.connect(j="(i + 1) % 10")
        S.w = "0.2 * rand()"
        spikes = SpikeMonitor(G, name="spikes")
        net = Network(G, S, spikes)
        net.run(3 * ms)
        net.store()
        net.run(5 * ms)
        first = spikes.i[:].copy(), spikes.t[:].copy()
        record(net)
        S.connect(j="(i + 5) % 10")  # more synapses, then back to the stored ones
        S.w = 0.3
        net.restore()
        net.run(5 * ms)
        record(net)
        return _copies(i1=first[0], t1=first[1], i2=spikes.i[:], t2=spikes.t[:],
                v=G.v[:], n_synapses=np.array([len(S)]))

    _check(scenario)


# -- the network changes -------------------------------------------------------------

def test_objects_added_and_removed_and_new_synapses():
    def scenario(record):
        G = NeuronGroup(10, "dv/dt = (1.3 - v) / (4*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="g")
        G.v = "i / 10.0"
        H = NeuronGroup(10, "dv/dt = -v / (10*ms) : 1", method="exact", name="h")
        S = Synapses(G, H, "w : 1", on_pre="v_post += w", name="s")
        S.connect(i=0, j=0)
        S.w = 0.5
        trace = StateMonitor(H, "v", record=True, name="trace")
        net = Network(G, H, S, trace)
        net.run(5 * ms)
        record(net)
        S.connect(i=[1, 2, 3], j=[4, 5, 6])  # new synapses
        S.w = 0.25
        net.run(5 * ms)
        record(net)
        spikes = SpikeMonitor(G, name="spikes")
        net.add(spikes)
        net.remove(trace)
        net.run(5 * ms)
        record(net)
        return _copies(v=trace.v[:], v_h=H.v[:], i=spikes.i[:], t=spikes.t[:])

    names = _check(scenario)
    assert names[0]["s_pre"] == names[1]["s_pre"]
    assert "spikes" in names[2] and "trace" not in names[2]
    assert names[1]["g_stateupdater"] == names[2]["g_stateupdater"]


def test_changed_dt():
    def scenario(record):
        G = NeuronGroup(4, "dv/dt = (2 - v) / (3*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="euler", name="g")
        S = Synapses(G, G, on_pre="v_post += 0.1", delay=0.3 * ms, name="s")
        S.connect(j="(i + 1) % 4")
        spikes = SpikeMonitor(G, name="spikes")
        net = Network(G, S, spikes)
        net.run(5 * ms)
        record(net)
        defaultclock.dt = 0.05 * ms
        net.run(5 * ms)
        record(net)
        return _copies(i=spikes.i[:], t=spikes.t[:], v=G.v[:])

    _check(scenario)


# -- how the code is made changes ------------------------------------------------------

_SCALED = """
double rerun_scaled(double x)
{
#ifdef RERUN_SCALE
    return RERUN_SCALE * x;
#else
    return x;
#endif
}
"""


def test_changed_codegen_preference():
    @implementation("cpp", _SCALED)
    @check_units(x=1, result=1)
    def rerun_scaled(x):
        return x

    def scenario(record):
        G = NeuronGroup(2, "dv/dt = rerun_scaled(1 - v) / (5*ms) : 1", method="euler",
                        namespace={"rerun_scaled": rerun_scaled}, name="g")
        net = Network(G)
        net.run(1 * ms)
        after_one = G.v[:].copy()
        record(net)
        previous = prefs.codegen.cpp.define_macros
        prefs.codegen.cpp.define_macros = [("RERUN_SCALE", "3.0")]
        try:
            net.run(1 * ms)
            record(net)
        finally:
            prefs.codegen.cpp.define_macros = previous
        return _copies(after_one=after_one, v=G.v[:])

    reused, names = _run_scenario(scenario, "cppyy", True)
    fresh, _ = _run_scenario(scenario, "cppyy", False)
    for key in reused:
        np.testing.assert_array_equal(reused[key], fresh[key])
    assert not _same(names, 0, 1, "g_stateupdater")
    # forward Euler: 1 - v shrinks by 1 - dt/5ms per step, then by 1 - 3*dt/5ms
    np.testing.assert_allclose(reused["after_one"], 1 - 0.98**10, rtol=1e-9)
    np.testing.assert_allclose(reused["v"], 1 - 0.98**10 * 0.94**10, rtol=1e-9)


def test_changed_user_function_implementation():
    @implementation("cpp", "double rerun_f(double x) { return 2.0 * x; }")
    @check_units(x=1, result=1)
    def rerun_f(x):
        return 2.0 * x

    def scenario(record):
        G = NeuronGroup(3, "v : 1", name="g")
        G.v = "i + 1"
        G.run_regularly("v = rerun_f(v)", dt=1 * ms, name="doubling")
        net = Network(G)
        net.run(2 * ms)
        record(net)
        rerun_f.implementations.add_implementation(
            "cpp", "double rerun_f(double x) { return x + 0.5; }")
        net.run(2 * ms)
        record(net)
        return _copies(v=G.v[:])

    try:
        reused, names = _run_scenario(scenario, "cppyy", True)
        rerun_f.implementations.add_implementation(
            "cpp", "double rerun_f(double x) { return 2.0 * x; }")
        fresh, _ = _run_scenario(scenario, "cppyy", False)
    finally:
        rerun_f.implementations.add_implementation(
            "cpp", "double rerun_f(double x) { return 2.0 * x; }")
    np.testing.assert_array_equal(reused["v"], fresh["v"])
    # two doublings, then two additions of 0.5
    np.testing.assert_array_equal(reused["v"], 4.0 * np.arange(1, 4) + 1.0)
    assert not _same(names, 0, 1, "doubling")


# -- Brian2's unused-object warnings and the import-time freeze ---------------------------

def test_unused_object_still_warns_on_a_cppyy_run():
    previous = prefs.logging.warn_for_unused_objects
    prefs.logging.warn_for_unused_objects = True
    try:
        G = NeuronGroup(1, "dv/dt = -v / (10*ms) : 1", method="exact", name="g")
        net = Network(G)
        net.run(0.5 * ms)  # compiled, so that the next run is a reuse
        with catch_logs() as logs:
            NeuronGroup(1, "x : 1", name="rerun_never_used")
            net.run(0.5 * ms)
    finally:
        prefs.logging.warn_for_unused_objects = previous
    unused = [log for log in logs if log[1].endswith("unused_brian_object")]
    assert len(unused) == 1
    assert "rerun_never_used" in unused[0][2]


def test_a_dropped_network_is_freed():
    G = NeuronGroup(100, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="exact")
    S = Synapses(G, G, on_pre="v += 0.1")
    S.connect(p=0.2)
    net = Network(G, S, SpikeMonitor(G))
    net.run(1 * ms)
    net.run(1 * ms)
    refs = [weakref.ref(obj) for obj in net.sorted_objects]
    codeobj = weakref.ref(G.state_updater.codeobj.__repr__.__self__)
    del G, S, net
    gc.collect()
    assert all(ref() is None for ref in refs)
    assert codeobj() is None


_FREEZE_SCRIPT = """
import gc
import brian2cppyy
from brian2 import NeuronGroup, Network, ms, prefs
print(gc.get_freeze_count() > 100000)
prefs.codegen.target = {target!r}
net = Network(NeuronGroup(1, "v : 1"))
net.run(0.1 * ms)
print(gc.get_freeze_count() > 100000)
"""


@pytest.mark.parametrize("target", ["cppyy", "numpy"])
def test_imported_objects_are_frozen_for_the_process(target):
    result = subprocess.run([sys.executable, "-c", _FREEZE_SCRIPT.format(target=target)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # frozen at import (the imported modules' objects), still frozen after a run
    assert result.stdout.split("\n")[:2] == ["True", "True"]


def test_nothing_is_frozen_when_brian_objects_exist_before_the_import():
    script = ("import gc\nfrom brian2 import NeuronGroup\nG = NeuronGroup(1, 'v : 1')\n"
              "import brian2cppyy\nprint(gc.get_freeze_count())")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


# -- random numbers and other targets in between ---------------------------------------

def test_noise_with_seed_and_restored_random_state():
    def scenario(record):
        G = NeuronGroup(20, "dv/dt = (1 - v) / (5*ms) + 0.3 * xi / sqrt(ms) : 1",
                        threshold="v > 1", reset="v = rand() * 0.2", method="euler",
                        name="g")
        spikes = SpikeMonitor(G, name="spikes")
        net = Network(G, spikes)
        net.run(5 * ms)
        net.store()
        net.run(5 * ms)
        record(net)
        first = spikes.i[:].copy(), G.v[:].copy()
        net.restore(restore_random_state=True)
        net.run(5 * ms)
        record(net)
        again = spikes.i[:].copy(), G.v[:].copy()
        seed(77)
        net.run(5 * ms)
        record(net)
        return _copies(i1=first[0], v1=first[1], i2=again[0], v2=again[1], i=spikes.i[:],
                       t=spikes.t[:], v=G.v[:])

    reused, names = _run_scenario(scenario, "cppyy", True)
    fresh, _ = _run_scenario(scenario, "cppyy", False)
    for key in reused:
        np.testing.assert_array_equal(reused[key], fresh[key], err_msg=key)
    # the restored random state repeats the stored run's numbers
    np.testing.assert_array_equal(reused["i2"], reused["i1"])
    np.testing.assert_array_equal(reused["v2"], reused["v1"])
    assert len(reused["i1"]) > 10
    assert names[0] == names[1] == names[2]


def test_a_run_on_another_target_in_between():
    def scenario(record):
        G = NeuronGroup(5, "dv/dt = (2 - v) / (4*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="g")
        G.v = "i * 0.2"
        spikes = SpikeMonitor(G, name="spikes")
        net = Network(G, spikes)
        net.run(3 * ms)
        record(net)
        target = prefs.codegen.target
        prefs.codegen.target = "numpy"
        try:
            net.run(3 * ms)
        finally:
            prefs.codegen.target = target
        G.v[0] = 0.9
        net.run(3 * ms)
        record(net)
        return _copies(i=spikes.i[:], t=spikes.t[:], v=G.v[:])

    names = _check(scenario)
    assert names[0] == names[1]
