"""SpikeMonitor, StateMonitor, PopulationRateMonitor with the cppyy target."""

import numpy as np
import pytest
from brian2 import (
    EventMonitor,
    Hz,
    Network,
    NeuronGroup,
    PopulationRateMonitor,
    SpikeMonitor,
    StateMonitor,
    defaultclock,
    ms,
    network_operation,
    prefs,
    run,
)

from brian2cppyy.diagnostics.monitor_growth import growth_counters, reset_growth_counters


def _driven_group(N=12):
    G = NeuronGroup(
        N,
        """dv/dt = (I - v)/(5*ms) : 1
           I : 1 (constant)
           k : integer""",
        threshold="v > 1",
        reset="v = 0; k += 1",
        method="exact",
        name="driven*",
    )
    G.I = "1.2 + 0.1*i"
    G.v = "0.05*i"
    return G


# -- SpikeMonitor -----------------------------------------------------------------


def _spikes():
    G = _driven_group()
    S = SpikeMonitor(G, variables=["v", "k", "I"])
    run(30 * ms)
    return {
        "i": np.array(S.i[:]),
        "t": np.array(S.t[:]),
        "count": np.array(S.count[:]),
        "v": np.array(S.v[:]),
        "k": np.array(S.k[:]),
        "I": np.array(S.I[:]),
        "num_spikes": S.num_spikes,
        "k_final": np.array(G.k[:]),
    }


def test_spikemonitor_equals_numpy(with_target):
    ours = _spikes()
    theirs = with_target("numpy", _spikes)
    assert ours["num_spikes"] > 50
    assert ours["num_spikes"] == theirs["num_spikes"] == len(ours["i"])
    for key in ["i", "t", "count", "k", "I", "k_final"]:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    np.testing.assert_allclose(ours["v"], theirs["v"], rtol=1e-12)


def test_spikemonitor_contents_consistent():
    r = _spikes()
    i, t = r["i"], r["t"]
    assert r["i"].dtype.kind == "i"
    np.testing.assert_array_equal(r["count"], np.bincount(i, minlength=12))
    np.testing.assert_array_equal(r["count"], r["k_final"])
    # the recorded v is the value that crossed the threshold (before reset)
    assert np.all(r["v"] > 1)
    np.testing.assert_allclose(r["I"], 1.2 + 0.1 * i, rtol=1e-15)
    # the recorded k counts the spikes before this one (recorded before reset)
    for n in range(12):
        np.testing.assert_array_equal(r["k"][i == n], np.arange(r["count"][n]))
    # times are non-decreasing and on the time grid
    assert np.all(np.diff(t) >= 0)
    np.testing.assert_allclose(t / 1e-4, np.round(t / 1e-4), atol=1e-6)
    # faster neurons spike more often
    assert np.all(np.diff(r["count"]) >= 0)


def test_spikemonitor_no_variables_and_record_false():
    G = _driven_group(5)
    S = SpikeMonitor(G, record=False)
    S_full = SpikeMonitor(G)
    run(20 * ms)
    np.testing.assert_array_equal(S.count[:], S_full.count[:])
    assert S_full.num_spikes == np.sum(S_full.count[:]) > 0


@pytest.mark.parametrize("sub", [slice(0, 4), slice(4, 9), slice(9, 12)])
def test_spikemonitor_subgroup_source(sub):
    G = _driven_group()
    S_all = SpikeMonitor(G)
    S_sub = SpikeMonitor(G[sub], variables=["v"])
    run(30 * ms)
    i_all, t_all = np.asarray(S_all.i), np.asarray(S_all.t)
    mask = (i_all >= sub.start) & (i_all < sub.stop)
    assert mask.sum() > 0
    np.testing.assert_array_equal(np.asarray(S_sub.i), i_all[mask] - sub.start)
    np.testing.assert_array_equal(np.asarray(S_sub.t), t_all[mask])
    np.testing.assert_array_equal(S_sub.count[:], S_all.count[sub])
    assert len(S_sub.count[:]) == sub.stop - sub.start
    assert np.all(np.asarray(S_sub.v) > 1)


def test_spike_trains():
    G = _driven_group(4)
    S = SpikeMonitor(G)
    run(20 * ms)
    trains = S.spike_trains()
    assert sorted(trains) == [0, 1, 2, 3]
    for n in range(4):
        np.testing.assert_array_equal(
            np.asarray(trains[n]), np.asarray(S.t)[np.asarray(S.i) == n]
        )


# -- StateMonitor ---------------------------------------------------------------------


def _states(record, when="start"):
    G = NeuronGroup(
        8,
        """dv/dt = (1 + i - v)/(4*ms) : 1
           dw/dt = (v - w)/(8*ms) : 1
           k : integer
           s = v + 2*w : 1""",
        method="exact",
    )
    G.v = "-0.1*i"
    G.k = "3*i"
    M = StateMonitor(G, ["v", "w", "k", "s"], record=record, when=when)
    run(3 * ms)
    return M, G


def test_statemonitor_record_true(with_target):
    M, G = _states(True)
    t = np.asarray(M.t)
    np.testing.assert_allclose(t, np.arange(30) * 1e-4, atol=1e-15)
    assert M.v.shape == (8, 30) and M.w.shape == (8, 30)
    assert M.k.shape == (8, 30) and M.s.shape == (8, 30)
    np.testing.assert_array_equal(M.k, np.repeat((3 * np.arange(8))[:, None], 30, 1))
    np.testing.assert_allclose(M.s, M.v + 2 * M.w, rtol=1e-14)
    # when='start': the first column holds the initial values
    np.testing.assert_array_equal(M.v[:, 0], -0.1 * np.arange(8))
    np.testing.assert_array_equal(M.w[:, 0], np.zeros(8))

    def reference():
        M_np, _ = _states(True)
        return np.array(M_np.v), np.array(M_np.w), np.array(M_np.t)

    v_np, w_np, t_np = with_target("numpy", reference)
    np.testing.assert_array_equal(t, t_np)
    np.testing.assert_allclose(M.v, v_np, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(M.w, w_np, rtol=1e-12, atol=1e-13)


def test_statemonitor_record_list():
    M_all, _ = _states(True)
    all_v, all_s, all_k = np.array(M_all.v), np.array(M_all.s), np.array(M_all.k)
    M, _ = _states([6, 1, 3])
    assert M.v.shape == (3, 30)
    np.testing.assert_array_equal(np.asarray(M.record), [6, 1, 3])
    np.testing.assert_allclose(M.v, all_v[[6, 1, 3]], rtol=1e-15)
    np.testing.assert_allclose(M.s, all_s[[6, 1, 3]], rtol=1e-15)
    np.testing.assert_array_equal(M.k, all_k[[6, 1, 3]])
    # indexing the monitor by neuron index
    np.testing.assert_array_equal(M[3].v, M.v[2])
    np.testing.assert_array_equal(M[6].k, np.full(30, 18))


def test_statemonitor_single_index_and_empty():
    M, _ = _states(5)
    assert M.v.shape == (1, 30)
    np.testing.assert_array_equal(M.v[0][0], -0.5)
    M_empty, _ = _states(False)
    assert M_empty.v.shape == (0, 30)
    assert len(M_empty.t) == 30


def test_statemonitor_when_start_vs_end():
    G = NeuronGroup(3, "dv/dt = 1/ms : 1", method="euler")
    G.v = "i"
    M_start = StateMonitor(G, "v", record=True, when="start")
    M_end = StateMonitor(G, "v", record=True, when="end")
    run(1 * ms)
    np.testing.assert_array_equal(np.asarray(M_start.t), np.asarray(M_end.t))
    # before the update: i + 0.1*n; after it: i + 0.1*(n+1)
    np.testing.assert_allclose(M_start.v[:, 0], [0, 1, 2], atol=1e-15)
    np.testing.assert_allclose(M_end.v[:, 0], [0.1, 1.1, 2.1], atol=1e-12)
    np.testing.assert_allclose(M_end.v[:, :-1], M_start.v[:, 1:], atol=1e-15)
    np.testing.assert_allclose(M_end.v[:, -1], G.v[:], atol=1e-15)


def test_statemonitor_with_dt():
    G = NeuronGroup(2, "dv/dt = 1/ms : 1", method="euler")
    M = StateMonitor(G, "v", record=True, dt=0.5 * ms)
    run(3 * ms)
    np.testing.assert_allclose(np.asarray(M.t), np.arange(6) * 5e-4, atol=1e-15)
    np.testing.assert_allclose(M.v[0], np.arange(6) * 0.5, atol=1e-12)


# -- PopulationRateMonitor ---------------------------------------------------------------


def _rates(source_slice=None):
    G = _driven_group(20)
    source = G if source_slice is None else G[source_slice]
    R = PopulationRateMonitor(source)
    S = SpikeMonitor(source)
    run(20 * ms)
    return np.array(R.t[:]), np.array(R.rate[:]), np.array(S.i[:]), np.array(S.t[:])


@pytest.mark.parametrize("source_slice", [None, slice(5, 15)])
def test_population_rate_equals_numpy(with_target, source_slice):
    t, rate, spike_i, spike_t = _rates(source_slice)
    t_np, rate_np, _, _ = with_target("numpy", _rates, source_slice)
    np.testing.assert_array_equal(t, t_np)
    np.testing.assert_allclose(rate, rate_np, rtol=1e-14)
    assert len(t) == 200
    # rate = (number of spikes in the step) / dt / N
    N = 20 if source_slice is None else 10
    steps = np.round(spike_t / 1e-4).astype(int)
    expected = np.bincount(steps, minlength=200) / 1e-4 / N
    np.testing.assert_allclose(rate, expected, rtol=1e-14)
    assert np.sum(rate > 0) > 10


def test_population_rate_units():
    G = _driven_group(4)
    R = PopulationRateMonitor(G)
    run(5 * ms)
    assert R.rate.dim == Hz.dim
    assert np.all(np.asarray(R.rate) >= 0)


# -- several runs ------------------------------------------------------------------------


def test_monitors_append_over_two_runs():
    G = _driven_group(6)
    S = SpikeMonitor(G, variables=["v"])
    M = StateMonitor(G, "v", record=[0, 5])
    R = PopulationRateMonitor(G)
    net = Network(G, S, M, R)
    net.run(10 * ms)
    n_spikes_1 = S.num_spikes
    i_1, t_1 = np.array(S.i), np.array(S.t)
    count_1 = np.array(S.count)
    v_1 = np.array(M.v)
    rate_1 = np.array(R.rate)
    net.run(15 * ms)

    # one uninterrupted run of the same length
    G2 = _driven_group(6)
    S2 = SpikeMonitor(G2, variables=["v"])
    M2 = StateMonitor(G2, "v", record=[0, 5])
    R2 = PopulationRateMonitor(G2)
    Network(G2, S2, M2, R2).run(25 * ms)

    assert S.num_spikes > n_spikes_1 > 0
    np.testing.assert_array_equal(np.asarray(S.i)[:n_spikes_1], i_1)
    np.testing.assert_array_equal(np.asarray(S.t)[:n_spikes_1], t_1)
    assert np.all(np.asarray(S.t)[n_spikes_1:] >= 0.010)
    assert np.all(S.count[:] >= count_1) and np.any(S.count[:] > count_1)
    assert M.v.shape == (2, 250) and len(M.t) == 250
    np.testing.assert_array_equal(M.v[:, :100], v_1)
    np.testing.assert_allclose(np.asarray(M.t), np.arange(250) * 1e-4, atol=1e-12)
    assert len(R.rate) == 250
    np.testing.assert_array_equal(np.asarray(R.rate)[:100], rate_1)

    np.testing.assert_array_equal(np.asarray(S.i), np.asarray(S2.i))
    np.testing.assert_allclose(np.asarray(S.t), np.asarray(S2.t), atol=1e-12)
    np.testing.assert_array_equal(S.count[:], S2.count[:])
    np.testing.assert_allclose(M.v, M2.v, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(R.rate), np.asarray(R2.rate))


def test_monitors_grow_over_long_run():
    # many appends: the dynamic arrays are resized (from C++) many times
    G = NeuronGroup(
        50,
        "dv/dt = (2 - v)/(1*ms) : 1",
        threshold="v > 1",
        reset="v = 0",
        method="exact",
    )
    G.v = "i/50.0"
    S = SpikeMonitor(G, variables=["v"])
    M = StateMonitor(G, "v", record=[0, 49])
    run(200 * ms)
    assert M.v.shape == (2, 2000)
    assert len(M.t) == 2000
    # period: ln(2) ms -> 7 steps with dt=0.1 ms
    assert S.num_spikes > 50 * 250
    assert len(S.i) == len(S.t) == len(S.v) == S.num_spikes
    np.testing.assert_array_equal(S.count[:], np.bincount(np.asarray(S.i), minlength=50))
    assert np.all(np.asarray(S.v) > 1)
    # recorded at the start of a step: after the previous step's reset
    assert np.all(np.asarray(M.v) <= 1) and np.all(np.asarray(M.v) >= 0)
    assert np.all(np.diff(np.asarray(S.t)) >= 0)


# -- cost per step independent of the recorded length ------------------------------------
#
# The monitors append through monitor_arrays.hpp, which counts the elements
# appended and the recorded elements that reallocations copy. With geometric
# growth the copies stay below twice the appended elements, so recording 4x
# longer costs 4x, not 16x. These counters are deterministic; the timings are
# in the benchmarks (workload long_recording).


def _all_monitors(n_steps, fused):
    """Every kind of monitor on one spiking group, run for n_steps; returns the
    growth counters of that run and the monitors."""
    prefs.codegen.runtime.cppyy.fused_loop = fused
    G = NeuronGroup(
        6,
        """dv/dt = (2 - v)/(1*ms) : 1
           dw/dt = -w/(3*ms) : 1""",
        threshold="v > 1",
        reset="v = 0; w += 1",
        events={"half": "v > 0.5"},
        method="exact",
    )
    G.v = "i/6.0"
    monitors = {
        "state": StateMonitor(G, ["v", "w"], record=[0, 3, 5]),
        "spike": SpikeMonitor(G, variables=["v"]),
        "event": EventMonitor(G, "half", variables=["w"]),
        "rate": PopulationRateMonitor(G),
    }
    net = Network(G, *monitors.values())
    net.run(0 * ms)  # compile outside the counted run
    reset_growth_counters()
    net.run(n_steps * defaultclock.dt)
    return growth_counters(), monitors


@pytest.mark.parametrize("fused", [True, False])
def test_appends_cost_amortised_constant_per_step(fused):
    n = 1000
    short, mons = _all_monitors(n, fused)
    long_, mons_long = _all_monitors(4 * n, fused)
    for counters, m, steps in [(short, mons, n), (long_, mons_long, 4 * n)]:
        # every recorded element went through the counted appends
        expected = (
            steps * (1 + 2 * 3)  # StateMonitor: t, and v and w of 3 neurons
            + 3 * m["spike"].num_spikes  # i, t, v of each spike
            + 3 * m["event"].num_events  # i, t, w of each event
            + 2 * steps  # PopulationRateMonitor: t, rate
        )
        assert counters["appended"] == expected
        # geometric growth: copies below twice the elements appended
        assert counters["moved"] < 2 * counters["appended"]
    assert mons_long["spike"].num_spikes > 3000
    work = {k: c["appended"] + c["moved"] for k, c in [("short", short), ("long", long_)]}
    assert work["long"] <= 4.4 * work["short"]
    # 10 arrays grow; each 4x longer recording adds about log2(4) = 2 moves
    assert long_["reallocations"] - short["reallocations"] <= 10 * 3


def test_monitor_kernels_append_only_through_monitor_arrays():
    """DynamicArray2D::resize(rows, cols) walks every recorded row on each
    call (a recording of T steps costs O(T^2)), and has no effect a counter
    could see; the kernels must therefore grow arrays only through the
    appends of monitor_arrays.hpp (resize_along_first for rows)."""
    _, monitors = _all_monitors(10, True)
    for kind, mon in monitors.items():
        source = mon.codeobj.code.run
        assert "brian2cppyy::monitor_arrays::append" in source, kind
        assert "->resize(" not in source, kind


@pytest.mark.parametrize("fused", [True, False])
def test_long_recording_equals_step_by_step_values(fused):
    """3000 steps (a dozen reallocations of each array): the recorded values
    equal those read from the group at every step by a network operation, and
    the monitor's arrays read from Python mid-run have the right length."""
    prefs.codegen.runtime.cppyy.fused_loop = fused
    G = NeuronGroup(
        5, "dv/dt = (1 + i - v)/(7*ms) : 1", threshold="v > 1.5", reset="v = 0",
        method="exact",
    )
    M = StateMonitor(G, "v", record=[4, 1], when="start", order=0)
    R = PopulationRateMonitor(G)
    S = SpikeMonitor(G)
    seen_v, seen_t, lengths = [], [], []

    @network_operation(when="start", order=-1)
    def read_each_step(t):
        seen_v.append(np.array(G.v[[4, 1]]))
        seen_t.append(np.asarray(t).item())
        if len(seen_t) % 250 == 0:
            # the views of the monitor's arrays are fresh after reallocations
            lengths.append((len(seen_t) - 1, len(M.t), M.v.shape, len(R.rate), len(S.t)))

    Network(G, M, R, S, read_each_step).run(3000 * defaultclock.dt)
    np.testing.assert_array_equal(np.asarray(M.t), np.array(seen_t))
    np.testing.assert_array_equal(M.v, np.array(seen_v).T)
    assert np.asarray(S.t).size > 100
    for steps_before, len_t, shape_v, len_rate, len_spikes in lengths:
        assert len_t == len_rate == steps_before
        assert shape_v == (2, steps_before)
        assert len_spikes == np.sum(np.asarray(S.t) < (steps_before - 0.5) * 1e-4)


def _monitors_record(n_steps):
    G = NeuronGroup(
        8,
        """dv/dt = (1.5 + 0.2*i - v)/(2*ms) : 1
           dw/dt = (v - w)/(5*ms) : 1""",
        threshold="v > 1",
        reset="v = 0",
        events={"half": "v > 0.5"},
        method="exact",
    )
    G.v = "i/8.0"
    M = StateMonitor(G, ["v", "w"], record=[0, 7, 2])
    S = SpikeMonitor(G, variables=["w"])
    E = EventMonitor(G, "half", variables=["v"])
    R = PopulationRateMonitor(G)
    run(n_steps * defaultclock.dt)
    return {
        "M.t": np.array(M.t), "M.v": np.array(M.v), "M.w": np.array(M.w),
        "S.i": np.array(S.i), "S.t": np.array(S.t), "S.w": np.array(S.w),
        "S.count": np.array(S.count),
        "E.i": np.array(E.i), "E.t": np.array(E.t), "E.v": np.array(E.v),
        "R.t": np.array(R.t), "R.rate": np.array(R.rate),
    }


@pytest.mark.parametrize("fused", [True, False])
def test_monitors_equal_cython_over_long_recording(with_target, fused):
    prefs.codegen.runtime.cppyy.fused_loop = fused
    ours = _monitors_record(2500)
    theirs = with_target("cython", _monitors_record, 2500)
    assert len(ours["S.i"]) > 1000 and len(ours["E.i"]) > len(ours["S.i"])
    for key in ours:
        assert ours[key].shape == theirs[key].shape, key
        if key in ("M.v", "M.w", "S.w", "E.v"):
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
