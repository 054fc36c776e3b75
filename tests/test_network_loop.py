"""The fused C++ network loop gives the same results as Brian2's Python loop
calling the same kernels step by step (same seed), and keeps the loop's
semantics: several clocks, network operations, stop(), maximum run time,
profiling, progress reports, t after the run, Ctrl-C."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from brian2 import (
    Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, ms, network_operation,
    prefs, profiling_summary, second, seed, start_scope,
)

import brian2cppyy.network_loop as network_loop


def _interrupt_once_running(delay=0.3):
    """Send SIGINT to this process ``delay`` seconds after a run's time-step
    loop has started (not while Brian2 prepares the run); returns the thread
    and a list that receives the time the signal was sent."""
    from brian2 import Network as _Network

    sent = []

    def send():
        deadline = time.time() + 60
        while not _Network._globally_running and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        sent.append(time.time())
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, sent


def _model(fused, stop_at=None):
    """A noisy recurrent network on two clocks with a network operation."""
    start_scope()
    prefs.codegen.runtime.cppyy.fused_loop = fused
    seed(11)
    G = NeuronGroup(200, "dv/dt = (1.05-v)/(10*ms) + 0.2*xi/sqrt(ms) : 1 (unless refractory)",
                    threshold="v>1", reset="v=0", refractory=2 * ms, method="euler")
    G.v = "rand()"
    S = Synapses(G, G, "w : 1", on_pre="v_post += w", delay=1 * ms)
    S.connect(p=0.1)
    S.w = "0.02*rand()"
    H = NeuronGroup(5, "dx/dt = -x/(5*ms) : 1", dt=0.5 * ms, method="exact")
    spikes = SpikeMonitor(G)
    trace = StateMonitor(H, "x", record=True)
    calls = []

    @network_operation(dt=1 * ms)
    def kick(t):
        calls.append(float(t[:]))
        H.x += 1
        if stop_at is not None and float(t[:]) >= stop_at:
            net.stop()

    net = Network(G, S, H, spikes, trace, kick)
    net.run(30 * ms)
    net.run(20 * ms)
    return net, spikes, trace, calls, G


@pytest.mark.parametrize("stop_at", [None, 0.0225])
def test_fused_loop_is_bit_identical_to_python_loop(stop_at):
    results = []
    for fused in (True, False):
        net, spikes, trace, calls, G = _model(fused, stop_at)
        results.append((float(net.t), spikes.i[:].copy(), spikes.t[:].copy(),
                        trace.x[:].copy(), trace.t[:].copy(), calls, G.v[:].copy(),
                        int(G.clock.timestep[:])))
    fused, python = results
    assert fused[0] == python[0]
    assert len(fused[1]) > 100
    for a, b in zip(fused[1:], python[1:]):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
    if stop_at is None:
        assert fused[0] == pytest.approx(0.050)
    else:
        # the operation stops both runs: each ends after the step of the stop
        assert fused[0] < 0.030


def test_t_and_clocks_after_run():
    G = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1")
    H = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1", dt=0.3 * ms)
    net = Network(G, H)
    net.run(10 * ms)
    assert float(net.t) == pytest.approx(0.010)
    assert int(G.clock.timestep[:]) == 100
    # H's clock stops at the first step at or after the end
    assert int(H.clock.timestep[:]) == 34
    assert float(G.t[:]) == pytest.approx(0.010)


def test_profile_reports_each_object():
    G = NeuronGroup(100, "dv/dt = (2-v)/(10*ms) : 1", threshold="v>1", reset="v=0")
    M = SpikeMonitor(G)
    net = Network(G, M)
    net.run(20 * ms, profile=True)
    names = {name for name, _ in net.profiling_info}
    assert {"neurongroup_stateupdater", "neurongroup_spike_thresholder",
            "neurongroup_spike_resetter", "spikemonitor"} <= names
    assert all(t >= 0 * second for _, t in net.profiling_info)
    assert "Profiling summary" in str(profiling_summary(net))


def test_report_callback_and_maximum_run_time():
    G = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1")
    net = Network(G)
    reports = []
    net.run(100 * ms, report=lambda elapsed, completed, start, duration: reports.append(completed),
            report_period=1 * second)
    assert reports[0] == 0.0 and reports[-1] == 1.0

    from brian2.devices.device import get_device

    device = get_device()
    device._set_maximum_run_time(0.2 * second)
    try:
        start = time.time()
        net.run(100000 * second)
        assert time.time() - start < 5
        assert 0.1 * second < net.t < 100000 * second
    finally:
        device._set_maximum_run_time(None)


def test_keyboard_interrupt_stops_between_steps_and_network_can_continue():
    prefs.core.stop_on_keyboard_interrupt = False
    G = NeuronGroup(50, "dv/dt = (1.1-v)/(10*ms) : 1", threshold="v>1", reset="v=0",
                    method="exact")
    M = SpikeMonitor(G)
    net = Network(G, M)
    net.run(0 * ms)
    thread, sent = _interrupt_once_running()
    with pytest.raises(KeyboardInterrupt):
        net.run(100000 * second)
    thread.join()
    assert time.time() - sent[0] < 1.0
    # consistent: the clock and the network agree, monitors hold the data
    assert float(G.t[:]) == pytest.approx(float(net.t))
    assert M.num_spikes > 0 and np.all(M.t[:] < net.t)
    t_stop = float(net.t)
    net.run(5 * ms)
    assert float(net.t) == pytest.approx(t_stop + 0.005)


def test_first_ctrl_c_is_a_graceful_stop_with_brians_default():
    assert prefs.core.stop_on_keyboard_interrupt
    G = NeuronGroup(50, "dv/dt = -v/(10*ms) : 1")
    net = Network(G)
    net.run(0 * ms)
    thread, sent = _interrupt_once_running()
    net.run(100000 * second)  # returns, as Network.stop() would
    thread.join()
    assert time.time() - sent[0] < 1.0
    assert 0 * second < net.t < 100000 * second


def test_other_targets_and_python_objects_run_inside_the_fused_loop():
    """A group with numpy code objects and a network operation run from
    Python between the kernels, in schedule order."""
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

    seed(3)
    order = []
    A = NeuronGroup(5, "dv/dt = -v/(10*ms) : 1", codeobj_class=NumpyCodeObject)
    A.v = 1
    B = NeuronGroup(5, "dv/dt = -v/(10*ms) : 1")
    B.v = 1

    @network_operation(when="end")
    def check():
        order.append(abs(float(A.v[0]) - float(B.v[0])) < 1e-12)

    net = Network(A, B, check)
    net.run(5 * ms)
    assert len(order) == 50 and all(order)
    np.testing.assert_allclose(A.v[:], np.exp(-0.5), rtol=1e-6)


def test_fused_loop_is_used():
    """The run goes through the C++ loop (not Brian2's Python loop)."""
    entered = []
    original = network_loop._Schedule.run

    def spy(self, *args, **kwds):
        entered.append(len(self.entries))
        return original(self, *args, **kwds)

    network_loop._Schedule.run = spy
    try:
        G = NeuronGroup(5, "dv/dt = -v/(10*ms) : 1", threshold="v>1", reset="v=0")
        Network(G).run(1 * ms)
    finally:
        network_loop._Schedule.run = original
    assert entered == [3]
