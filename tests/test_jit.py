"""The JIT layer: the in-process cache of compiled units, the namespacing of
kernels, and the dump_dir preference."""

import os

import numpy as np
import pytest
from brian2 import (
    NeuronGroup,
    Network,
    SpikeMonitor,
    StateMonitor,
    check_units,
    implementation,
    ms,
    prefs,
    run,
    start_scope,
)

import brian2cppyy


def _decay_model(N, tau, v0, name_suffix):
    G = NeuronGroup(
        N,
        "dv/dt = -v/tau : 1",
        threshold="v > 0.9",
        reset="v = 0",
        method="exact",
        name=f"decaying_{name_suffix}",
    )
    G.v = "v0 + 0.001*i"
    M = StateMonitor(G, "v", record=[0, N - 1], name=f"vmon_{name_suffix}")
    S = SpikeMonitor(G, name=f"spikes_{name_suffix}")
    net = Network(G, M, S)
    net.run(2 * ms, namespace={"tau": tau, "v0": v0})
    return G, M, S


def test_identical_code_compiled_once():
    G1, M1, _ = _decay_model(10, 10 * ms, 0.5, "first")
    after_first = brian2cppyy.stats()
    np.testing.assert_allclose(
        M1.v[0], 0.5 * np.exp(-np.asarray(M1.t) / 0.010), rtol=1e-12
    )

    start_scope()
    # Other object names, another size, other parameter values: same code
    G2, M2, S2 = _decay_model(25, 20 * ms, 0.25, "second")
    after_second = brian2cppyy.stats()

    assert after_second["compiled"] == after_first["compiled"]
    assert after_second["cache_hits"] > after_first["cache_hits"]
    assert after_second["failed"] == after_first["failed"]
    # ... and the cached kernels use the new objects' data and parameters
    assert len(G2.v) == 25
    t = np.asarray(M2.t)
    np.testing.assert_allclose(M2.v[0], 0.25 * np.exp(-t / 0.020), rtol=1e-12)
    np.testing.assert_allclose(
        M2.v[1], (0.25 + 0.024) * np.exp(-t / 0.020), rtol=1e-12
    )
    np.testing.assert_allclose(
        G2.v[:], (0.25 + 0.001 * np.arange(25)) * np.exp(-0.002 / 0.020), rtol=1e-12
    )
    assert len(S2.i) == 0
    # The first model's data are untouched
    np.testing.assert_allclose(
        G1.v[:], (0.5 + 0.001 * np.arange(10)) * np.exp(-0.002 / 0.010), rtol=1e-12
    )


def test_cached_kernels_see_other_parameters_with_spikes():
    # The threshold is a parameter (a constant in the namespace): with the
    # cache, the second network must still use its own threshold.
    def build(theta, name):
        G = NeuronGroup(
            5,
            "dv/dt = 1/(10*ms) : 1",
            threshold="v > theta",
            reset="v = 0",
            method="euler",
            name=name,
        )
        S = SpikeMonitor(G)
        net = Network(G, S)
        net.run(10 * ms, namespace={"theta": theta})
        return S

    S1 = build(0.505, "ramp_a")
    compiled = brian2cppyy.stats()["compiled"]
    start_scope()
    S2 = build(0.255, "ramp_b")
    assert brian2cppyy.stats()["compiled"] == compiled
    # v grows by 0.01 per step; spikes when it exceeds theta
    assert np.all(S1.count[:] == S1.count[0]) and S1.count[0] > 0
    assert S2.count[0] > S1.count[0]
    first_spike_1 = np.min(np.asarray(S1.t)[np.asarray(S1.i) == 0])
    first_spike_2 = np.min(np.asarray(S2.t)[np.asarray(S2.i) == 0])
    # v = 0.01*(n+1) after the update in step n: above 0.505 in step 50
    assert abs(first_spike_1 - 0.0050) < 1e-9
    assert abs(first_spike_2 - 0.0025) < 1e-9


def test_user_function_same_name_new_body():
    @implementation("cpp", "double scaled_id(double x) { return 2.0*x; }")
    @check_units(x=1, result=1)
    def scaled_id(x):
        return 2.0 * x

    G = NeuronGroup(6, "v : 1")
    G.v = "scaled_id(i)"
    run(0.1 * ms)
    np.testing.assert_array_equal(G.v[:], 2.0 * np.arange(6))
    failed = brian2cppyy.stats()["failed"]

    start_scope()

    @implementation("cpp", "double scaled_id(double x) { return 3.0*x + 1.0; }")
    @check_units(x=1, result=1)
    def scaled_id(x):  # noqa: F811  (deliberately the same name)
        return 3.0 * x + 1.0

    H = NeuronGroup(6, "v : 1")
    H.v = "scaled_id(i)"
    run(0.1 * ms)
    np.testing.assert_array_equal(H.v[:], 3.0 * np.arange(6) + 1.0)
    # No redefinition error happened on the way
    assert brian2cppyy.stats()["failed"] == failed
    # The old group keeps its values
    np.testing.assert_array_equal(G.v[:], 2.0 * np.arange(6))


def test_user_function_same_name_in_stateupdate():
    # Two different implementations of the same name alive at the same time
    @implementation("cpp", "double rate_fn(double x) { return x; }")
    @check_units(x=1, result=1)
    def rate_fn(x):
        return x

    first = rate_fn
    G = NeuronGroup(3, "dv/dt = rate_fn(1.0)/ms : 1", method="euler", name="uses_first")
    net1 = Network(G)
    net1.run(1 * ms, namespace={"rate_fn": first})
    np.testing.assert_allclose(G.v[:], 1.0, rtol=1e-12)

    start_scope()

    @implementation("cpp", "double rate_fn(double x) { return 4.0*x; }")
    @check_units(x=1, result=1)
    def rate_fn(x):  # noqa: F811
        return 4.0 * x

    second = rate_fn
    H = NeuronGroup(3, "dv/dt = rate_fn(1.0)/ms : 1", method="euler", name="uses_second")
    net2 = Network(H)
    net2.run(1 * ms, namespace={"rate_fn": second})
    np.testing.assert_allclose(H.v[:], 4.0, rtol=1e-12)
    # Running the first network again with its function uses the first body
    net1.run(1 * ms, namespace={"rate_fn": first})
    np.testing.assert_allclose(G.v[:], 2.0, rtol=1e-12)
    net2.run(1 * ms, namespace={"rate_fn": second})
    np.testing.assert_allclose(H.v[:], 8.0, rtol=1e-12)


def test_stats_counters():
    s = brian2cppyy.stats()
    assert set(s) >= {"compiled", "cache_hits", "compile_seconds", "failed"}
    before = s["compiled"]
    # A model that no other test uses: compiles something new
    G = NeuronGroup(2, "dv/dt = -v/(7.123456*ms) : 1", method="exact")
    G.v = 1.0
    run(0.1 * ms)
    after = brian2cppyy.stats()
    assert after["compiled"] > before
    assert after["compile_seconds"] >= s["compile_seconds"]
    np.testing.assert_allclose(G.v[:], np.exp(-0.1 / 7.123456), rtol=1e-12)
    # stats() is a snapshot, not a live view
    s["compiled"] = -1
    assert brian2cppyy.stats()["compiled"] == after["compiled"]


def test_dump_dir_writes_sources(tmp_path):
    dump = tmp_path / "dump"
    prefs.codegen.runtime.cppyy.dump_dir = str(dump)
    # A model that no other test compiles (the dump happens on compilation)
    G = NeuronGroup(
        3,
        "dv/dt = -v/(3.14159*ms) : 1",
        threshold="v > 1.2345",
        reset="v = 0.1234",
        method="exact",
        name="dumped_group",
    )
    G.v = 2.0
    run(0.3 * ms)
    files = sorted(os.listdir(dump))
    assert files, "nothing was dumped"
    assert all(f.endswith(".cpp") for f in files)
    assert "dumped_group_stateupdater_codeobject_run.cpp" in files
    assert "dumped_group_spike_thresholder_codeobject_run.cpp" in files
    assert "dumped_group_spike_resetter_codeobject_run.cpp" in files
    contents = {f: (dump / f).read_text() for f in files}
    for f, text in contents.items():
        assert "namespace _b2c_" in text, f
        assert "_kernel" in text, f
    stateupdate = [t for f, t in contents.items() if f.startswith("dumped_group_stateupdater")]
    assert any("0.318310155" in t for t in stateupdate)  # 1/3.14159
    # The model ran correctly while dumping
    assert np.all(G.v[:] < 1.2345)


def test_two_groups_share_kernels_but_not_data():
    # Same structure in the same network: one compiled unit, two slot arrays
    G1 = NeuronGroup(4, "dv/dt = -v/tau1 : 1", method="exact", name="twin_a")
    tau1 = 2 * ms  # noqa: F841
    G2 = NeuronGroup(6, "dv/dt = -v/tau1 : 1", method="exact", name="twin_b")
    G1.v = 1.0
    G2.v = 2.0
    net = Network(G1)
    net.run(1 * ms)
    compiled = brian2cppyy.stats()["compiled"]
    net2 = Network(G2)
    tau1 = 4 * ms  # noqa: F841  (the second network sees another value)
    net2.run(1 * ms)
    assert brian2cppyy.stats()["compiled"] == compiled
    np.testing.assert_allclose(G1.v[:], np.exp(-1 / 2), rtol=1e-12)
    np.testing.assert_allclose(G2.v[:], 2 * np.exp(-1 / 4), rtol=1e-12)
    assert len(G1.v) == 4 and len(G2.v) == 6


def test_library_error_gives_the_loaders_reason(tmp_path):
    # a file that exists but is no shared library: the loader's own reason
    # (not cppyy's bare "Unable to load library") must reach the user
    fake = tmp_path / "libnot_a_library_b2c.so"
    fake.write_text("this is not an ELF file\n")
    with pytest.raises(brian2cppyy.cling.jit.CompilationError) as excinfo:
        brian2cppyy.target.user_code.load_library("not_a_library_b2c", [str(tmp_path)])
    message = str(excinfo.value)
    first_line = message.split("\n")[0]
    assert "'not_a_library_b2c'" in first_line and str(fake) in first_line
    assert "invalid ELF header" in first_line or "file too short" in first_line


def test_missing_library_lists_the_files_tried(tmp_path):
    with pytest.raises(brian2cppyy.cling.jit.CompilationError) as excinfo:
        brian2cppyy.target.user_code.load_library("surely_missing_library_b2c", [str(tmp_path)])
    message = str(excinfo.value)
    assert "'surely_missing_library_b2c'" in message.split("\n")[0]
    tried = str(tmp_path / "libsurely_missing_library_b2c.so")
    assert tried in message  # with the loader's reason
    assert "cannot open shared object file" in message
