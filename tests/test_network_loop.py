"""The fused C++ network loop gives the same results as Brian2's Python loop
calling the same kernels step by step (same seed), and keeps the loop's
semantics: several clocks, network operations, stop(), maximum run time,
profiling, progress reports, t after the run, Ctrl-C, the log. Where a test
compares with Brian2's own ``Network.run``, the reference is the same model
with ``codegen.runtime.cppyy.fused_loop = False``."""

import logging
import os
import signal
import threading
import time
import uuid

import numpy as np
import pytest
from brian2 import (
    Clock, EventClock, Network, NetworkOperation, NeuronGroup, SpikeMonitor, StateMonitor,
    Synapses, ms, network_operation, prefs, profiling_summary, second, seed, start_scope,
)
from brian2.devices.device import get_device
from brian2.utils.logger import catch_logs

from helpers import both_loops
import brian2cppyy.loop.network_loop as network_loop

#: a limit on the wall-clock time of runs that only an interrupt should end:
#: if the interrupt is lost, the run ends here, and the test fails on how it ended
SAFETY_LIMIT = 60 * second



class _InterruptOnceRunning:
    """Sends SIGINT to this process ``delay`` seconds after a run's time-step
    loop has started (not while Brian2 prepares the run), as the run's
    progress report shows it: a report with a completed fraction above 0
    comes from inside the loop. Pass it as ``net.run(..., report=interrupt,
    report_period=interrupt.PERIOD)``; ``thread`` sends the signal."""

    PERIOD = 0.05 * second

    def __init__(self, delay=0.3):
        self._running = threading.Event()
        self.thread = threading.Thread(target=self._send, args=(delay,), daemon=True)
        self.thread.start()

    def __call__(self, elapsed, completed, start, duration):
        if completed > 0:
            self._running.set()

    def _send(self, delay):
        self._running.wait(timeout=60)  # if lost, the test fails on how the run ended
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGINT)


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
    # explicit names: automatic ones depend on what earlier tests left alive
    G = NeuronGroup(100, "dv/dt = (2-v)/(10*ms) : 1", threshold="v>1", reset="v=0",
                    name="profiled")
    M = SpikeMonitor(G, name="profiled_spikes")
    net = Network(G, M)
    net.run(20 * ms, profile=True)
    names = {name for name, _ in net.profiling_info}
    assert {"profiled_stateupdater", "profiled_spike_thresholder",
            "profiled_spike_resetter", "profiled_spikes"} <= names
    assert all(t >= 0 * second for _, t in net.profiling_info)
    assert "Profiling summary" in str(profiling_summary(net))


def test_report_callback_at_start_and_end():
    G = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1")
    net = Network(G)
    reports = []
    net.run(100 * ms, report=lambda elapsed, completed, start, duration: reports.append(completed),
            report_period=1 * second)
    assert reports[0] == 0.0 and reports[-1] == 1.0


@pytest.mark.parametrize("report_period", [0 * second, 1 * second])
def test_zero_duration_and_report_every_step_like_brians_loop(report_period):
    """``run(0*ms)`` reports start and end only (it has no step: no report
    in between, which would divide by the zero duration); with
    ``report_period=0`` a run reports before every step, as Brian2's loop
    does (one report per step, then the loop goes on)."""

    def build():
        reports = []

        def report(elapsed, completed, start, duration):
            reports.append((float(completed), float(start), float(duration)))

        net = Network(NeuronGroup(1, "dv/dt = -v/(10*ms) : 1"))
        net.run(0 * ms, report=report, report_period=report_period)
        net.run(1 * ms, report=report, report_period=report_period)
        return reports, float(net.t)

    fused, python = both_loops(build)
    assert fused[1] == python[1] == pytest.approx(0.001)
    assert fused[0][:2] == [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)]
    np.testing.assert_allclose(fused[0], python[0])
    if report_period == 0 * second:
        # start, each of the ten steps, end
        assert len(fused[0]) == 2 + 12


def test_maximum_run_time_stops_after_the_step_like_brians_loop():
    """A maximum run time that is over at once: both loops stop after the
    first step (deterministic: no wall-clock bound on the test)."""

    def build():
        G = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1")
        net = Network(G)
        device = get_device()
        device._set_maximum_run_time(0 * second)
        try:
            net.run(100000 * second)
        finally:
            device._set_maximum_run_time(None)
        return float(net.t), int(G.clock.timestep[:]), device._last_run_completed_fraction

    fused, python = both_loops(build)
    assert fused == python
    assert fused[1] == 1


def _count_after_run(net):
    """Count the calls of ``net.after_run`` (Brian2 calls it at the end of a
    completed run only)."""
    calls = []
    original = net.after_run

    def after_run():
        calls.append(float(net.t))
        return original()

    net.after_run = after_run
    return calls


def test_keyboard_interrupt_stops_between_steps_and_network_can_continue():
    """A SIGINT during the C++ loop raises KeyboardInterrupt at a step
    boundary: the run is not finished (no after_run, as in Brian2), the
    clocks and monitors are consistent, and the network can go on. The run
    could only end otherwise at the safety limit, without KeyboardInterrupt."""
    prefs.core.stop_on_keyboard_interrupt = False
    G = NeuronGroup(50, "dv/dt = (1.1-v)/(10*ms) : 1", threshold="v>1", reset="v=0",
                    method="exact")
    M = SpikeMonitor(G)
    net = Network(G, M)
    net.run(0 * ms)
    after_runs = _count_after_run(net)
    get_device()._set_maximum_run_time(SAFETY_LIMIT)
    try:
        interrupt = _InterruptOnceRunning()
        with pytest.raises(KeyboardInterrupt):
            net.run(100000 * second, report=interrupt, report_period=interrupt.PERIOD)
        interrupt.thread.join()
    finally:
        get_device()._set_maximum_run_time(None)
    assert after_runs == []
    assert float(G.t[:]) == pytest.approx(float(net.t))
    assert M.num_spikes > 0 and np.all(M.t[:] < net.t)
    t_stop = float(net.t)
    net.run(5 * ms)
    assert float(net.t) == pytest.approx(t_stop + 0.005)
    assert after_runs == [pytest.approx(t_stop + 0.005)]


def test_keyboard_interrupt_in_a_network_operation_like_brians_loop():
    """A KeyboardInterrupt raised by Python code inside a step: t is that
    step's, and after_run is not called, in both loops."""

    def build():
        G = NeuronGroup(5, "dv/dt = -v/(10*ms) : 1")

        @network_operation(dt=0.5 * ms)
        def interrupt(t):
            if t >= 2 * ms:
                raise KeyboardInterrupt

        net = Network(G, interrupt)
        after_runs = _count_after_run(net)
        with pytest.raises(KeyboardInterrupt):
            net.run(10 * ms)
        return float(net.t), after_runs

    fused, python = both_loops(build)
    assert fused == python == (pytest.approx(0.002), [])


def test_first_ctrl_c_is_a_graceful_stop_with_brians_default():
    """With Brian2's default the first Ctrl-C is Network.stop(): the run
    returns (finished, after_run called) at a step boundary, stopped by the
    signal and not by the safety limit."""
    assert prefs.core.stop_on_keyboard_interrupt
    G = NeuronGroup(50, "dv/dt = -v/(10*ms) : 1")
    net = Network(G)
    net.run(0 * ms)
    after_runs = _count_after_run(net)
    with catch_logs() as logs:
        get_device()._set_maximum_run_time(SAFETY_LIMIT)
        try:
            interrupt = _InterruptOnceRunning()
            # returns, as Network.stop() would
            net.run(100000 * second, report=interrupt, report_period=interrupt.PERIOD)
            interrupt.thread.join()
        finally:
            get_device()._set_maximum_run_time(None)
    assert [(level, name) for level, name, _ in logs] == [("WARNING", "brian2")]  # Brian2's one
    # notice of the stop
    assert 0 * second < net.t < 100000 * second
    assert float(G.t[:]) == pytest.approx(float(net.t))
    assert after_runs == [float(net.t)]


@pytest.mark.parametrize("profile", [False, True])
def test_stop_with_multiple_clocks_then_run_on_like_brians_loop(profile):
    """After stop() with two clocks, t is the time of the next step (that of
    the fast clock, not of the clock that ran last), so the next run does
    not skip a step of the fast clock (Brian2's test_stop_with_multiple_clocks)."""

    def build():
        fast = Clock(dt=0.2 * ms)
        slow = Clock(dt=0.3 * ms)
        times, stopped = [], []

        def finish():
            if not stopped and slow.t >= 0.3 * ms:
                stopped.append(True)
                net.stop()

        net = Network(NetworkOperation(lambda: times.append(float(fast.t / ms)), clock=fast),
                      NetworkOperation(finish, clock=slow))
        net.run(1 * ms, profile=profile)
        first = (list(times), float(net.t))
        net.run(0.6 * ms, profile=profile)
        return first, (list(times), float(net.t))

    fused, python = both_loops(build)
    np.testing.assert_allclose(fused[0][0], [0, 0.2])
    assert fused[0][1] == pytest.approx(0.0004)
    np.testing.assert_allclose(fused[1][0], [0, 0.2, 0.4, 0.6, 0.8])
    assert fused[1][1] == pytest.approx(0.001)
    assert fused == python


def test_run_and_profiling_messages_like_brians_loop():
    """The debug log of a profiled run has Brian2's messages under Brian2's
    logger names, including the profiling summary."""

    def build():
        # named: a group left over by an earlier test would make an automatic
        # name differ between the two runs (neurongroup_1)
        G = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1", threshold="v>1", reset="v=0",
                        name="profiled_group")
        net = Network(G, SpikeMonitor(G, name="profiled_spikes"), name="profiled")
        with catch_logs(log_level=logging.DEBUG, only_from=("brian2.core.network",)) as logs:
            net.run(1 * ms, profile=True)
        return [(level, name, msg.split(" (took")[0].split("\n")[1 if msg.startswith("\n") else 0])
                for level, name, msg in logs]

    fused, python = both_loops(build)
    assert fused == python
    assert ("DEBUG", "brian2.core.network", "Profiling summary") in fused
    assert ("DEBUG", "brian2.core.network.run",
            "Simulating network 'profiled' from time 0. s to 1. ms.") in fused


def test_profiling_info_lists_the_objects_brians_loop_lists():
    """Like Brian2's loop, the profile lists every active object whose clock
    has run a step (none after run(0*ms)), also objects without kernels of
    their own; not the inactive ones (``profiling_info`` sorts by time, so
    the names are compared sorted)."""

    def build():
        G = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1", threshold="v>1", reset="v=0",
                        name="spiking")
        H = NeuronGroup(3, "x : 1", dt=0.5 * ms, name="static")
        quiet = NeuronGroup(3, "dy/dt = -y/ms : 1", name="inactive")
        quiet.active = False
        net = Network(G, H, quiet, SpikeMonitor(G, name="spikes"))
        net.run(0 * ms, profile=True)
        empty = sorted(name for name, _ in net.profiling_info)
        net.run(0.2 * ms, profile=True)
        return empty, sorted(name for name, _ in net.profiling_info)

    fused, python = both_loops(build)
    assert fused == python
    assert fused[0] == []
    assert {"static_stateupdater", "spikes"} <= set(fused[1])
    assert not any(name.startswith("inactive") for name in fused[1])


def test_runs_the_fused_loop_cannot_take_say_why():
    """A run with an EventClock uses Brian2's loop, and the log says why."""
    lister = []
    op = NetworkOperation(lambda: lister.append(1), clock=EventClock(times=[0 * ms, 0.5 * ms]))
    net = Network(NeuronGroup(2, "dv/dt = -v/(10*ms) : 1"), op, name=f"ev_{uuid.uuid4().hex}")
    with catch_logs(log_level=logging.DEBUG, only_from=("brian2cppyy",)) as logs:
        net.run(1 * ms)
    assert lister == [1, 1]
    # the loop's own lines (others, e.g. the analysis cache's, depend on earlier tests)
    said = [(level, msg) for level, name, msg in logs
            if name.startswith("brian2cppyy.loop.network_loop")]
    assert len(said) == 1, said
    level, message = said[0]
    assert level == "INFO"
    for fact in (f"'{net.name}'", "Python loop", "EventClock"):
        assert fact in message, fact


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


def test_an_objects_own_run_method_is_called_like_brians_loop():
    """Brian2's loop calls ``obj.run()``: a ``run`` set on the object itself
    is called there, and in the fused loop too (the group's state updater is
    an object of its own, and runs in both)."""

    def build():
        G = NeuronGroup(2, "dv/dt = 1/ms : 1", method="euler")
        calls = []
        G.run = lambda: calls.append(float(G.t[:]))
        Network(G).run(0.3 * ms)
        return calls, list(G.v[:])

    fused, python = both_loops(build)
    assert fused == python
    assert fused[0] == pytest.approx([0, 0.0001, 0.0002])
    assert fused[1] == pytest.approx([0.3, 0.3])


def test_fused_loop_is_used():
    """The run goes through the C++ loop (not Brian2's Python loop), with
    every code object as a kernel (no entry returns to Python)."""
    entered = []
    original = network_loop._Schedule.run

    def spy(self, *args, **kwds):
        entered.append((len(self.entries), len(self.python_calls)))
        return original(self, *args, **kwds)

    network_loop._Schedule.run = spy
    try:
        G = NeuronGroup(5, "dv/dt = -v/(10*ms) : 1", threshold="v>1", reset="v=0")
        Network(G).run(1 * ms)
    finally:
        network_loop._Schedule.run = original
    assert entered == [(3, 0)]
