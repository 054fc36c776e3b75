"""Robustness in everyday use: C++ exceptions in user code (also inside the
fused loop), Cling flags changed too late and an unusable precompiled
header give clear Python exceptions and leave a working process (errors in
the C++ code itself: `test_errors`; invalid preference values:
`test_registration`); compilation and runs from several
Python threads; long sessions with many networks."""

import gc
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import uuid
import weakref

import numpy as np
import pytest
from brian2 import (
    Clock, Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses,
    check_units, implementation, ms, prefs, seed, start_scope,
)
from brian2.core.base import BrianObjectException
from brian2.utils.logger import catch_logs

import brian2cppyy
from brian2cppyy import log
from brian2cppyy.cling import precompiled_header, runtime
from brian2cppyy.target.codeobject import CppyyCodeObject
from helpers import full_message, valid_model_runs



def _thrower():
    @implementation(
        "cpp",
        """
        #include <stdexcept>
        #include <string>
        double thrower(double x)
        {
            if (x > 0.55)
                throw std::runtime_error("thrower got x=" + std::to_string(x));
            if (x < -0.55)
                throw 42;  // not a std::exception
            return x;
        }
        """,
    )
    @check_units(x=1, result=1)
    def thrower(x):
        return x

    return thrower


# -- C++ exceptions ----------------------------------------------------------


@pytest.mark.parametrize("fused", [True, False])
def test_cpp_exception_in_user_function_during_run(fused):
    prefs.codegen.runtime.cppyy.fused_loop = fused
    thrower = _thrower()  # noqa: F841  (used in the equations)
    G = NeuronGroup(3, "dv/dt = 1/ms : 1\ny = thrower(v) : 1", threshold="y > 10",
                    method="euler", name="throwing_group")
    net = Network(G)
    net.run(0.3 * ms)
    with pytest.raises(BrianObjectException) as excinfo:
        net.run(2 * ms)
    message = full_message(excinfo.value)
    assert "throwing_group" in message
    assert "functions used: thrower" in message
    assert "thrower got x=0.6" in message
    cause = excinfo.value.__cause__
    assert isinstance(cause, RuntimeError)
    # as in Brian2's loop: the network's time is that of the failing step
    # (the state updater runs before the thresholder: v = 0.6 at t = 0.5 ms)
    assert float(net.t) == pytest.approx(0.0005)
    assert float(G.t[:]) == pytest.approx(0.0005)
    np.testing.assert_allclose(G.v[:], 0.6)

    # the same network goes on once the cause is removed
    G.v = 0
    net.run(0.2 * ms)
    np.testing.assert_allclose(G.v[:], 0.2)
    assert float(net.t) == pytest.approx(0.0007)
    valid_model_runs()


def test_cpp_exception_in_synapses_inside_fused_loop():
    thrower = _thrower()  # noqa: F841
    source = NeuronGroup(2, "dv/dt = 1/ms : 1", threshold="v > 1", reset="v = 0",
                         method="euler", name="exc_source")
    target = NeuronGroup(2, "x : 1", name="exc_target")
    S = Synapses(source, target, "w : 1", on_pre="x_post += thrower(w)", name="exc_synapses")
    S.connect(j="i")
    S.w = [0.1, 0.9]
    net = Network(source, target, S)
    with pytest.raises(BrianObjectException) as excinfo:
        net.run(3 * ms)
    message = full_message(excinfo.value)
    assert "exc_synapses" in message
    assert "thrower got x=0.9" in message
    # first spike (v = 1.1 > 1 after the update at t = 1 ms)
    assert float(net.t) == pytest.approx(0.001)
    S.w = 0.25
    net.run(1 * ms)
    assert float(net.t) == pytest.approx(0.002)
    assert np.all(np.isfinite(target.x[:])) and target.x[1] >= 0.25
    valid_model_runs()


def test_non_standard_cpp_exception_and_setter():
    thrower = _thrower()  # noqa: F841
    G = NeuronGroup(3, "v : 1", name="setter_group")
    with pytest.raises(BrianObjectException) as excinfo:
        G.v = "thrower(-1.0*i)"
    message = full_message(excinfo.value)
    assert "unknown C++ exception" in message
    assert "setter_group" in message
    np.testing.assert_array_equal(G.v[:], 0)
    G.v = "thrower(0.25*i)"
    np.testing.assert_allclose(G.v[:], [0, 0.25, 0.5])


# -- preferences --------------------------------------------------------------


def test_flags_changed_after_cling_started_are_reported():
    valid_model_runs()  # Cling runs
    define = f"-DB2C_{uuid.uuid4().hex}"
    prefs.codegen.runtime.cppyy.extra_cling_args = ["-march=native", define]
    with catch_logs(only_from=("brian2cppyy",)) as logs:
        valid_model_runs()
        valid_model_runs()
    messages = [m for _, name, m in logs if name.endswith("flags_fixed")]
    assert len(messages) == 1  # once per flag set
    # the flags asked for, and those Cling runs with
    assert define in messages[0] and runtime.info()["flags"].strip() in messages[0]


def test_unusable_precompiled_header_stops_cling_cleanly(tmp_path):
    """Cling crashes the process on a file that is not a PCH: brian2cppyy
    refuses to start it instead, with a clear error."""
    bad = tmp_path / "broken.pch"
    bad.write_bytes(b"not a precompiled header" * 100)
    script = textwrap.dedent(
        """
        import brian2cppyy
        from brian2 import NeuronGroup, prefs
        prefs.codegen.target = 'cppyy'
        prefs.codegen.string_expression_target = 'cppyy'
        G = NeuronGroup(2, 'v : 1')
        try:
            G.v = 'i + 1'
        except Exception as exc:
            chain = []
            while exc is not None:
                chain.append(str(exc))
                exc = exc.__cause__ or exc.__context__
            print('RAISED', ' | '.join(chain))
        """
    )
    env = dict(os.environ, CLING_STANDARD_PCH=str(bad))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raised = [line for line in proc.stdout.splitlines() if line.startswith("RAISED")]
    assert raised, proc.stdout
    # the error names the file and why it is unusable
    assert str(bad) in raised[0]
    assert precompiled_header.problem(str(bad)) in raised[0]


def test_broken_precompiled_header_in_our_cache_is_removed(tmp_path, monkeypatch):
    """One of ours (built by cppyy in the cache directory) is removed, so that
    cppyy builds it again, instead of crashing Cling."""
    prefs.codegen.runtime.cppyy.cache_dir = str(tmp_path)
    bad = tmp_path / "allDict.cxx.0123456789ab.pch"
    bad.write_bytes(b"\0" * 64)
    monkeypatch.setenv("CLING_STANDARD_PCH", str(bad))
    with catch_logs(only_from=("brian2cppyy",)) as logs:
        precompiled_header.check()
    assert not bad.exists()
    assert any(name.endswith("pch_rebuilt") for _, name, _ in logs)
    good = tmp_path / "allDict.cxx.fedcba987654.pch"
    good.write_bytes(b"CPCH" + b"\0" * 64)
    monkeypatch.setenv("CLING_STANDARD_PCH", str(good))
    precompiled_header.check()
    assert good.exists()


# -- threads ------------------------------------------------------------------


def _thread_model(kind, tag, literal):
    """A small deterministic model of one of four kinds, with its own clock
    and names; returns its results. ``literal`` makes its code new."""
    clock = Clock(dt=0.1 * ms, name=f"clock_{tag}")
    if kind == 0:
        G = NeuronGroup(40, f"dv/dt = ({1.5 + literal!r} - v)/(10*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", clock=clock, name=f"lif_{tag}")
        G.v = "0.02*i"
        objects = [G]
    elif kind == 1:
        G = NeuronGroup(30, f"dv/dt = (1.2 - v)/(8*ms) + {literal!r}/ms : 1", threshold="v > 1",
                        reset="v = 0", refractory=1 * ms, method="euler", clock=clock,
                        name=f"refr_{tag}")
        G.v = "0.03*i"
        S = Synapses(G, G, "w : 1", on_pre="v_post += w", clock=clock, name=f"syn_{tag}")
        S.connect(condition="i != j and (i + j) % 3 == 0")
        S.w = "0.01 * (i % 5)"
        objects = [G, S]
    elif kind == 2:
        G = NeuronGroup(20, f"dx/dt = -x/(5*ms) + {literal!r}*sin(2*pi*50*Hz*t)/ms : 1",
                        method="rk4", clock=clock, name=f"sine_{tag}")
        G.x = "i"
        objects = [G]
    else:
        G = NeuronGroup(25, "dv/dt = (2 - v)/(10*ms) : 1\nc : integer", threshold="v > 1",
                        reset=f"v = {literal!r}\nc += 1", method="exact", clock=clock,
                        name=f"count_{tag}")
        objects = [G]
    spikes = SpikeMonitor(G, name=f"spikes_{tag}") if kind != 2 else None
    trace = StateMonitor(G, "x" if kind == 2 else "v", record=[0, 5], name=f"trace_{tag}")
    objects += [trace] + ([spikes] if spikes is not None else [])
    net = Network(*objects, name=f"net_{tag}")
    net.run(20 * ms, namespace={})
    result = {"trace": np.array(trace.x[:] if kind == 2 else trace.v[:]), "t": float(net.t)}
    if spikes is not None:
        result["i"] = np.array(spikes.i[:])
        result["spike_t"] = np.array(spikes.t_[:])
    if kind == 3:
        result["c"] = np.array(G.c[:])
    return result


@pytest.mark.parametrize("fused", [True, False])
def test_models_in_four_threads(fused):
    prefs.codegen.runtime.cppyy.fused_loop = fused
    literals = [round(0.001 * (1 + uuid.uuid4().int % 997), 6) for _ in range(4)]
    compiled_before = brian2cppyy.stats()["compiled"]
    barrier = threading.Barrier(4)
    results, errors = {}, []

    def work(kind):
        try:
            barrier.wait(timeout=60)
            for rep in range(3):
                results[kind, rep] = _thread_model(kind, f"th{kind}_{rep}_{fused}", literals[kind])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append((kind, exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(results) == 12
    # new code was compiled while the threads ran
    assert brian2cppyy.stats()["compiled"] > compiled_before
    # each thread's results are those of the same model run alone
    for kind in range(4):
        alone = _thread_model(kind, f"alone{kind}_{fused}", literals[kind])
        for rep in range(3):
            threaded = results[kind, rep]
            assert threaded.keys() == alone.keys()
            for key in alone:
                np.testing.assert_array_equal(threaded[key], alone[key], err_msg=f"{kind} {key}")
    assert len(results[0, 0]["i"]) > 10 and results[3, 0]["c"].sum() > 10


@pytest.mark.parametrize("fused", [True, False])
def test_threads_sharing_a_clock_get_an_error_naming_it(fused):
    """Two threads that run networks on the same clock would advance it in
    turns (measured before the guard: 280 and 0 spikes instead of 280 and
    280). The second run must fail, naming the clock, while the first one
    runs undisturbed. The first run waits inside a NetworkOperation until the
    second has tried, so that the two runs overlap."""
    from brian2 import NetworkOperation, SpikeMonitor, defaultclock
    from brian2cppyy.loop.clock_guard import ClockInUseError

    prefs.codegen.runtime.cppyy.fused_loop = fused
    first_running, second_tried = threading.Event(), threading.Event()
    spikes, errors = {}, {}

    def build(k):
        G = NeuronGroup(10, "dv/dt = (2 - v)/(10*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name=f"shared_clock_group_{k}")
        monitor = SpikeMonitor(G, name=f"shared_clock_spikes_{k}")
        return G, monitor

    def first():
        try:
            G, monitor = build(0)

            def hold():
                first_running.set()
                second_tried.wait(timeout=120)

            operation = NetworkOperation(hold, when="start", name="shared_clock_hold")
            Network(G, monitor, operation, name="shared_clock_first").run(
                200 * ms, namespace={})
            spikes[0] = int(monitor.num_spikes)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors[0] = exc

    def second():
        try:
            G, monitor = build(1)
            first_running.wait(timeout=120)
            Network(G, monitor, name="shared_clock_second").run(200 * ms, namespace={})
            spikes[1] = int(monitor.num_spikes)
        except BaseException as exc:  # noqa: BLE001
            errors[1] = exc
        finally:
            second_tried.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert 0 not in errors, errors[0]
    assert isinstance(errors.get(1), ClockInUseError), errors.get(1)
    message = str(errors[1])
    assert "'defaultclock'" in message
    assert "'shared_clock_second'" in message and "'shared_clock_first'" in message
    # the first run was not disturbed: its neurons fire every 10*ms*log(2)
    assert spikes[0] == 10 * int(200 / (10 * np.log(2) + 0.1))
    # the clock is free again once the first run has ended
    G, monitor = build(2)
    Network(G, monitor, name="shared_clock_after").run(200 * ms, namespace={})
    assert int(monitor.num_spikes) == spikes[0]
    assert defaultclock.t_ == pytest.approx(0.2)


def test_cpp_exception_messages_stay_in_their_thread():
    """Kernels of several threads fail at once: each thread reports its own
    C++ exception message (the message is kept per thread)."""

    @implementation(
        "cpp",
        """
        #include <stdexcept>
        #include <string>
        double fail_with(double x)
        {
            for (volatile int k = 0; k < 20000; k++) {}
            throw std::runtime_error("failure number " + std::to_string((int)x));
        }
        """,
    )
    @check_units(x=1, result=1)
    def fail_with(x):
        return x

    groups = [NeuronGroup(1, "v : 1", name=f"fail_group_{k}", namespace={"fail_with": fail_with})
              for k in range(4)]
    barrier = threading.Barrier(4)
    seen, errors = {}, []

    def work(k):
        try:
            barrier.wait(timeout=60)
            for rep in range(20):
                try:
                    groups[k].v = f"fail_with(i + {k}.0)"
                except BrianObjectException as exc:
                    seen.setdefault(k, set()).add(str(exc.__cause__).split(": ")[-1])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert seen == {k: {f"failure number {k}"} for k in range(4)}


def test_logging_from_threads():
    """Brian2 logs an extension package's messages through a filter that it
    adds to the logger for the duration of the call; from several threads at
    once, its assertion fails (``AssertionError: brian2cppyy.loop.network_loop.run``
    from ``Network.run``). This package's loggers serialise their calls."""
    logger = log.get_logger("brian2cppyy.robustness_test")
    errors = []

    def work(k):
        try:
            for n in range(500):
                logger.debug(f"message {k} {n}", "threads")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with catch_logs(log_level=logging.DEBUG, only_from=("brian2cppyy",)) as logs:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert not errors, errors[:1]
    assert len(logs) == 2000
    assert {name for _, name, _ in logs} == {"brian2cppyy.robustness_test.threads"}


def test_random_numbers_in_threads():
    """Kernels that draw random numbers run in several threads at once
    (the shared random buffers are locked per kernel call): each thread's
    setter takes one whole block of the seeded stream, and the noise is
    that of the model."""
    barrier = threading.Barrier(4)
    stds, initial, errors = {}, {}, []

    def work(k):
        try:
            clock = Clock(dt=0.1 * ms, name=f"rclock_{k}")
            G = NeuronGroup(2000, "dv/dt = -v/(10*ms) + xi/sqrt(ms) : 1", method="euler",
                            clock=clock, name=f"noisy_{k}")
            barrier.wait(timeout=60)
            G.v = "rand()"
            initial[k] = G.v[:].copy()
            Network(G, name=f"rnet_{k}").run(20 * ms, namespace={})
            stds[k] = float(np.std(G.v[:]))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    seed(2024)  # the uniform buffer: the stream's first numbers (test_random)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    # exact: the four setters took the first 8000 numbers, 2000 each, in some order
    stream = np.random.RandomState(2024).rand(8000).reshape(4, 2000)
    assert sorted(map(tuple, initial.values())) == sorted(map(tuple, stream))
    # Ornstein-Uhlenbeck: std -> sqrt(tau/2) * sigma ~ 2.2 (20 ms = 2 tau)
    for std in stds.values():
        assert 1.6 < std < 2.6


# -- long sessions ------------------------------------------------------------


def _small_network():
    start_scope()
    G = NeuronGroup(20, "dv/dt = (1.2 - v)/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="exact")
    G.v = "rand()"
    S = Synapses(G, G, "w : 1", on_pre="v_post += w")
    S.connect(p=0.2)
    S.w = 0.01
    M = SpikeMonitor(G)
    net = Network(G, S, M)
    net.run(5 * ms)
    return net, G, S, M


def test_networks_are_freed():
    """Code objects, kernels and groups of finished networks are not kept
    alive by the JIT's caches (a quick version of the long-session test)."""
    prefs.logging.warn_for_unused_objects = False

    def live_code_objects():
        gc.collect()
        return sum(isinstance(o, CppyyCodeObject) for o in gc.get_objects())

    for k in range(5):
        _small_network()
    start_scope()
    before = live_code_objects()
    compiled = brian2cppyy.stats()["compiled"]
    units = brian2cppyy.cache_info()["units"]
    refs = []
    for k in range(20):
        net, G, S, M = _small_network()
        refs += [weakref.ref(o) for o in [net, G, S, M]]
        del net, G, S, M
    start_scope()
    assert live_code_objects() == before
    alive = [r() for r in refs if r() is not None]
    assert not alive, alive[:5]
    assert brian2cppyy.stats()["compiled"] == compiled
    assert brian2cppyy.cache_info()["units"] == units


_LONG_SESSION = """
import gc, json, os
import brian2cppyy
from brian2 import NeuronGroup, Network, SpikeMonitor, Synapses, ms, prefs, start_scope

prefs.codegen.target = 'cppyy'
prefs.codegen.string_expression_target = 'cppyy'
# Brian2's gc.collect() before each run (for its unused-objects warning) would
# dominate the time; memory is measured after explicit collections
prefs.logging.warn_for_unused_objects = False

def small_network():
    start_scope()
    G = NeuronGroup(20, 'dv/dt = (1.2 - v)/(10*ms) : 1', threshold='v > 1',
                    reset='v = 0', method='exact')
    G.v = 'rand()'
    S = Synapses(G, G, 'w : 1', on_pre='v_post += w')
    S.connect(p=0.2)
    S.w = 0.01
    M = SpikeMonitor(G)
    Network(G, S, M).run(5*ms)
    return int(M.num_spikes)

def resident_mb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20

for k in range(50):
    small_network()
gc.collect()
rss_warm, compiled_warm = resident_mb(), brian2cppyy.stats()['compiled']
spikes = sum(small_network() for k in range(950))
start_scope()
gc.collect()
print(json.dumps({'growth_mb': (resident_mb() - rss_warm) / 950, 'spikes': spikes,
                  'compiled_warm': compiled_warm,
                  'compiled_end': brian2cppyy.stats()['compiled']}))
"""


@pytest.mark.slow
def test_thousand_networks_in_one_process():
    """1000 small networks (same structure, new objects each time) in one
    fresh process: after 50 networks of warm-up, resident memory grows by
    less than 0.5 MB per network and no kernel is compiled any more. (A
    fresh process rather than pytest's: pytest keeps every log record of a
    test, about 0.2 MB per network here.)"""
    proc = subprocess.run([sys.executable, "-c", _LONG_SESSION], capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"resident memory: {result['growth_mb'] * 1024:.1f} kB per network after warm-up")
    assert result["spikes"] > 0
    assert result["growth_mb"] < 0.5, result
    assert result["compiled_end"] == result["compiled_warm"], result
