"""NeuronGroup features with the cppyy target: state updates, threshold,
reset, refractoriness, state variable access, subgroups, run_regularly,
custom events, integer and boolean variables."""

import numpy as np
import pytest
from brian2 import (
    EventMonitor,
    NeuronGroup,
    SpikeMonitor,
    StateMonitor,
    defaultclock,
    ms,
    mV,
    run,
)


# -- state update -------------------------------------------------------------


@pytest.mark.parametrize("method", ["exact", "rk4"])
def test_exponential_decay_matches_analytic_solution(method):
    tau = 5 * ms
    G = NeuronGroup(7, "dv/dt = -v/tau : 1", method=method)
    G.v = "1.0 + i"
    M = StateMonitor(G, "v", record=True)
    run(10 * ms)
    v0 = 1.0 + np.arange(7)
    t = np.asarray(M.t)
    np.testing.assert_allclose(t, np.arange(100) * 1e-4, rtol=0, atol=1e-15)
    expected = v0[:, None] * np.exp(-t[None, :] / 0.005)
    # the recorded value at t is the value before the update of that step
    # rk4's local error is ~(dt/tau)**5/120 per step
    rtol = 1e-12 if method == "exact" else 1e-8
    np.testing.assert_allclose(M.v, expected, rtol=rtol)
    np.testing.assert_allclose(G.v[:], v0 * np.exp(-0.010 / 0.005), rtol=rtol)


def test_euler_matches_numpy_target(with_target):
    def build():
        G = NeuronGroup(
            20,
            """dv/dt = (I - v + w)/(10*ms) : 1
               dw/dt = -w/(30*ms) + v*0.1/ms : 1
               I : 1 (constant)""",
            method="euler",
        )
        G.I = "0.1*i"
        G.v = "-0.05*i"
        run(5 * ms)
        return np.array(G.v[:]), np.array(G.w[:])

    v, w = build()
    v_np, w_np = with_target("numpy", build)
    np.testing.assert_allclose(v, v_np, rtol=1e-12)
    np.testing.assert_allclose(w, w_np, rtol=1e-12)
    assert np.all(v[1:] > 0)


def test_scalar_variables_in_stateupdate():
    G = NeuronGroup(
        4,
        """dv/dt = (g - v)/(2*ms) : 1
           g : 1 (shared)""",
        method="exact",
    )
    G.g = 3.0
    run(20 * ms)
    np.testing.assert_allclose(G.v[:], 3.0 * (1 - np.exp(-10.0)), rtol=1e-12)
    assert G.g[:] == 3.0


# -- threshold, reset, refractoriness -----------------------------------------


def _lif(refractory):
    G = NeuronGroup(
        30,
        """dv/dt = (I - v)/(10*ms) : 1 (unless refractory)
           I : 1 (constant)""",
        threshold="v > 1",
        reset="v = -0.2*(i % 3)",
        refractory=refractory,
        method="exact",
    )
    G.I = "0.9 + 0.05*i"
    S = SpikeMonitor(G)
    run(100 * ms)
    return np.array(S.i[:]), np.array(S.t[:]), np.array(S.count[:]), np.array(G.v[:])


@pytest.mark.parametrize("refractory", [False, 2 * ms, "(1 + i % 4)*ms"])
def test_lif_spikes_equal_numpy(with_target, refractory):
    i, t, count, v = _lif(refractory)
    i_np, t_np, count_np, v_np = with_target("numpy", _lif, refractory)
    assert len(i) > 100
    np.testing.assert_array_equal(i, i_np)
    np.testing.assert_array_equal(t, t_np)
    np.testing.assert_array_equal(count, count_np)
    np.testing.assert_allclose(v, v_np, rtol=1e-10, atol=1e-12)
    # Neurons with I <= 1 never spike
    assert np.all(count[:3] == 0)
    assert np.all(count[3:] > 0)


def test_refractoriness_holds_variable():
    G = NeuronGroup(
        1,
        "dv/dt = 2/(10*ms) : 1 (unless refractory)",
        threshold="v > 1",
        reset="v = 0",
        refractory=3 * ms,
        method="euler",
    )
    S = SpikeMonitor(G)
    M = StateMonitor(G, ["v", "not_refractory"], record=0)
    run(30 * ms)
    t = np.asarray(S.t)
    assert len(t) >= 3
    # between spikes: ~5 ms to reach threshold + 3 ms of refractoriness
    np.testing.assert_allclose(np.diff(t), 8.0e-3, atol=2.1e-4)
    after_first = (np.asarray(M.t) > t[0] + 1e-9) & (np.asarray(M.t) < t[0] + 3e-3 - 1e-9)
    assert after_first.sum() == 29
    assert np.all(M.v[0][after_first] == 0)
    assert not np.any(M.not_refractory[0][after_first])
    np.testing.assert_allclose(np.asarray(G.lastspike[:])[0], t[-1])


def test_threshold_on_boolean_and_integer():
    G = NeuronGroup(
        10,
        """flag : boolean
           k : integer""",
        threshold="flag or k > 3",
        reset="k = k - 1",
    )
    G.flag = "i == 2"
    G.k = "i"
    S = SpikeMonitor(G)
    run(0.3 * ms)
    # step 0: neurons 2, 4..9 spike; step 1: 2, 5..9 (4 is now 3); step 2: 2, 6..9
    np.testing.assert_array_equal(
        S.count[:], [0, 0, 3, 0, 1, 2, 3, 3, 3, 3]
    )
    np.testing.assert_array_equal(G.k[:], [0, 1, -1, 3, 3, 3, 3, 4, 5, 6])


# -- setting and getting state variables --------------------------------------


def test_set_with_expression():
    G = NeuronGroup(10, "v : volt\nx : 1")
    G.x = "i*2.5 + 1"
    G.v = "(x - 1)*mV"
    np.testing.assert_array_equal(G.x[:], np.arange(10) * 2.5 + 1)
    np.testing.assert_allclose(np.asarray(G.v[:]), np.arange(10) * 2.5e-3, rtol=1e-15)
    # expressions referring to external constants
    offset = 7.0
    G.x = "x + offset"
    np.testing.assert_array_equal(G.x[:], np.arange(10) * 2.5 + 8)


def test_set_conditional():
    G = NeuronGroup(10, "v : 1")
    G.v = "i"
    G.v["i > 5"] = "-v * 2"
    np.testing.assert_array_equal(G.v[:], [0, 1, 2, 3, 4, 5, -12, -14, -16, -18])
    G.v["v < 0 and i % 2 == 0"] = 100
    np.testing.assert_array_equal(G.v[:], [0, 1, 2, 3, 4, 5, 100, -14, 100, -18])


def test_set_by_index_with_expression():
    G = NeuronGroup(10, "v : 1")
    G.v[[1, 4, 7]] = "i*10"
    G.v[8:] = "-1.5"
    np.testing.assert_array_equal(G.v[:], [0, 10, 0, 0, 40, 0, 0, 70, -1.5, -1.5])


def test_get_subexpression_and_conditional_get():
    G = NeuronGroup(
        8,
        """v : 1
           k : integer
           s = 2*v + k : 1
           big = v > 3 : boolean""",
    )
    G.v = "i*1.5"
    G.k = "i % 3"
    np.testing.assert_allclose(
        G.s[:], 2 * 1.5 * np.arange(8) + np.arange(8) % 3, rtol=1e-15
    )
    np.testing.assert_array_equal(G.s[[0, 5]], [0, 15 + 2])
    np.testing.assert_array_equal(G.big[:], 1.5 * np.arange(8) > 3)
    np.testing.assert_array_equal(G.v["v > 4"], [4.5, 6.0, 7.5, 9.0, 10.5])
    np.testing.assert_array_equal(G.k["v > 4"], [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(G.s["k == 0"], [0, 9 * 1.0, 18.0])
    assert len(G.v["v > 100"]) == 0


def test_get_indices():
    G = NeuronGroup(12, "v : 1")
    G.v = "(i - 6)**2"
    np.testing.assert_array_equal(G.indices["v < 5"], [4, 5, 6, 7, 8])
    np.testing.assert_array_equal(G.indices["v > 1000"], [])
    np.testing.assert_array_equal(G.indices[:], np.arange(12))
    idx = G.indices["i % 4 == 1"]
    np.testing.assert_array_equal(idx, [1, 5, 9])


# -- subgroups ------------------------------------------------------------------


def test_subgroup_state_access():
    G = NeuronGroup(10, "v : 1\nx : 1")
    SG = G[3:7]
    SG.v = "i*10"  # i is the index within the subgroup
    np.testing.assert_array_equal(G.v[:], [0, 0, 0, 0, 10, 20, 30, 0, 0, 0])
    SG.x["v > 15"] = "v + 1"
    np.testing.assert_array_equal(G.x[:], [0, 0, 0, 0, 0, 21, 31, 0, 0, 0])
    np.testing.assert_array_equal(SG.v["i >= 2"], [20, 30])
    np.testing.assert_array_equal(SG.indices["v > 5"], [1, 2, 3])


def test_subgroup_threshold_reset_and_monitor():
    G = NeuronGroup(
        10,
        "dv/dt = (1.5 - v)/(5*ms) : 1",
        threshold="v > 1",
        reset="v = 0",
        method="exact",
    )
    G.v = "0.1*i"
    SG = G[5:]
    S_all = SpikeMonitor(G)
    S_sub = SpikeMonitor(SG)
    M = StateMonitor(SG, "v", record=[0, 4])
    M_all = StateMonitor(G, "v", record=[5, 9])
    run(20 * ms)
    i_all, t_all = np.asarray(S_all.i), np.asarray(S_all.t)
    in_sub = i_all >= 5
    np.testing.assert_array_equal(np.asarray(S_sub.i), i_all[in_sub] - 5)
    np.testing.assert_array_equal(np.asarray(S_sub.t), t_all[in_sub])
    np.testing.assert_array_equal(S_sub.count[:], S_all.count[5:])
    np.testing.assert_array_equal(M.v, M_all.v)
    assert M.v[0][0] == 0.5 and M.v[1][0] == 0.9
    assert len(S_sub.i) > 0


# -- run_regularly ---------------------------------------------------------------


def test_run_regularly():
    G = NeuronGroup(5, "v : 1\nc : integer")
    G.run_regularly("v += 0.5*i\nc += 1", dt=1 * ms)
    G.run_regularly("v *= 2", dt=2.5 * ms, when="end")
    run(5 * ms)
    # the first operation runs in steps 0, 10, 20, 30, 40 ("start"), the
    # second one in steps 0 and 25, after it ("end")
    assert np.all(G.c[:] == 5)
    expected = np.zeros(5)
    for step in range(50):
        if step % 10 == 0:
            expected += 0.5 * np.arange(5)
        if step % 25 == 0:
            expected *= 2
    np.testing.assert_allclose(G.v[:], expected, rtol=1e-15)
    assert expected[1] == (0.5 * 2 + 0.5 * 2) * 2 + 0.5 * 2


# -- custom events ---------------------------------------------------------------


def _custom_events():
    G = NeuronGroup(
        6,
        """dv/dt = (1 + 0.2*i - v)/(5*ms) : 1
           crossings : integer
           not_half : boolean""",
        threshold="v > 1.05",
        reset="v = 0",
        events={"half": "v > 0.5 and not_half", "low": "v < 0.1"},
        method="exact",
    )
    G.not_half = True
    G.run_on_event("half", "crossings += 1; not_half = False")
    G.run_on_event("low", "not_half = True")
    E = EventMonitor(G, "half", variables=["v"])
    S = SpikeMonitor(G)
    run(30 * ms)
    return (
        np.array(E.i[:]),
        np.array(E.t[:]),
        np.array(E.v[:]),
        np.array(E.count[:]),
        np.array(G.crossings[:]),
        np.array(S.count[:]),
    )


def test_custom_events_with_event_monitor(with_target):
    results = _custom_events()
    reference = with_target("numpy", _custom_events)
    for k, (ours, theirs) in enumerate(zip(results, reference)):
        if k == 2:  # recorded v: the same up to rounding
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        else:
            np.testing.assert_array_equal(ours, theirs)
    e_i, e_t, e_v, e_count, crossings, spike_count = results
    assert len(e_i) > 10
    assert np.all(e_v > 0.5)
    np.testing.assert_array_equal(e_count, crossings)
    np.testing.assert_array_equal(e_count, np.bincount(e_i, minlength=6))


def test_custom_event_simple():
    G = NeuronGroup(
        4,
        "dv/dt = 1/ms : 1",
        events={"above": "v > 2*(i+1) + 0.05"},
        method="euler",
    )
    G.run_on_event("above", "v = 0")
    E = EventMonitor(G, "above")
    run(10 * ms)
    # v increases by 0.1 per step; event when v > 2(i+1) + 0.05, then v = 0
    for k in range(4):
        times = np.asarray(E.t)[np.asarray(E.i) == k]
        period = round((2 * (k + 1)) / 0.1) + 1  # steps per cycle
        assert len(times) == 100 // period
        np.testing.assert_allclose(
            times, (np.arange(len(times)) + 1) * period * 1e-4 - 1e-4, atol=1e-9
        )


# -- integer and boolean variables ------------------------------------------------


def test_integer_and_boolean_variables(with_target):
    def build():
        G = NeuronGroup(
            12,
            """k : integer
               m : integer
               q : integer
               b : boolean
               x : 1""",
        )
        G.k = "i - 6"
        G.m = "k // 4"
        G.q = "k % 4"
        G.b = "k % 2 == 0 and k != 0"
        G.x = "k / 4"  # true division of integers
        G.run_regularly("k += int(b)*10", dt=defaultclock.dt)
        run(0.2 * ms)
        return [np.array(G.state(n)[:]) for n in "kmqbx"]

    k, m, q, b, x = build()
    assert k.dtype.kind == "i" and m.dtype.kind == "i"
    assert b.dtype == bool
    ki = np.arange(12) - 6
    np.testing.assert_array_equal(m, ki // 4)  # Python's floor division
    np.testing.assert_array_equal(q, ki % 4)  # Python's modulo (sign of divisor)
    expected_b = (ki % 2 == 0) & (ki != 0)
    np.testing.assert_array_equal(b, expected_b)
    np.testing.assert_array_equal(x, ki / 4)
    np.testing.assert_array_equal(k, ki + 20 * expected_b)
    for ours, theirs in zip([k, m, q, b, x], with_target("numpy", build)):
        np.testing.assert_array_equal(ours, theirs)


def test_units_preserved():
    G = NeuronGroup(3, "dv/dt = (10*mV - v)/(1*ms) : volt", method="exact")
    run(50 * ms)
    np.testing.assert_allclose(np.asarray(G.v[:] / mV), 10.0, rtol=1e-12)


def test_string_expressions_run_through_cppyy():
    # G.v = 'expr', G.v['cond'] = ..., G.v['cond'] and G.indices['cond'] use
    # the codegen.string_expression_target, set to 'cppyy' for these tests
    import brian2cppyy

    G = NeuronGroup(6, "v : 1\ns = v*3 : 1")

    def used():
        s = brian2cppyy.stats()
        return s["compiled"] + s["cache_hits"]

    for action in [
        lambda: G.__setattr__("v", "i*0.5"),
        lambda: G.v.__setitem__("i > 2", "v + 10"),
        lambda: G.v["v > 1"],
        lambda: G.s[:],
        lambda: G.indices["v > 1"],
    ]:
        before = used()
        action()
        assert used() == before + 1
    np.testing.assert_array_equal(G.v[:], [0, 0.5, 1, 11.5, 12, 12.5])
    np.testing.assert_array_equal(G.s[:], 3 * np.array([0, 0.5, 1, 11.5, 12, 12.5]))


def test_shared_variable_written_in_run_regularly():
    G = NeuronGroup(
        5,
        """v : 1
           counter : 1 (shared)""",
    )
    G.run_regularly("counter += 1\nv = counter * i", dt=0.5 * ms)
    run(3 * ms)
    assert G.counter[:] == 6
    np.testing.assert_array_equal(G.v[:], 6.0 * np.arange(5))


def test_group_with_own_clock():
    G = NeuronGroup(2, "dv/dt = 1/ms : 1", method="euler", dt=0.5 * ms)
    M = StateMonitor(G, "v", record=0, dt=0.5 * ms)
    run(5 * ms)
    np.testing.assert_allclose(np.asarray(M.t), np.arange(10) * 5e-4, atol=1e-12)
    np.testing.assert_allclose(M.v[0], np.arange(10) * 0.5, atol=1e-12)
    np.testing.assert_allclose(G.v[:], 5.0, atol=1e-12)
