"""The compile thread (`brian2cppyy.cling.compile_thread`): kernels compile
there while Brian2 goes on, with the results, errors and process behaviour
of compiling them one by one."""

import os
import threading
import time

import numpy as np
import pytest
from brian2 import (Network, NeuronGroup, SpikeMonitor, Synapses, check_units, implementation,
                    ms, prefs)
from brian2.core.base import BrianObjectException

from brian2cppyy import CppyyCompilationError
from brian2cppyy.cling import compile_thread, jit, runtime
from helpers import cause_of_type


def _network(tau_ms):
    """A small network with synapses and a monitor; ``tau_ms`` makes its
    code differ from every other test's (so that it compiles here)."""
    group = NeuronGroup(50, f"dv/dt = (1.2 - v) / ({tau_ms}*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact")
    group.v = "i / 50.0"
    synapses = Synapses(group, group, "w : 1", on_pre="v += w")
    synapses.connect(j="(i + 1) % 50")
    synapses.w = 0.01
    monitor = SpikeMonitor(group)
    return Network(group, synapses, monitor), group, monitor


def _declaring_threads(monkeypatch):
    """The names of the threads on which Cling compiles, in order."""
    names = []
    declare = runtime.declare

    def recording(source):
        names.append(threading.current_thread().name)
        return declare(source)

    monkeypatch.setattr(runtime, "declare", recording)
    return names


@pytest.mark.parametrize("background", [True, False])
def test_a_networks_kernels_compile_on_the_compile_thread_with_the_same_results(
        monkeypatch, background):
    prefs.codegen.runtime.cppyy.compile_in_background = background
    threads = _declaring_threads(monkeypatch)
    net, group, monitor = _network(10.0 + 0.125 * background)
    built = len(threads)
    net.run(30 * ms)
    in_run = threads[built:]
    assert in_run, "the run compiled nothing: the test's model is not new"
    expected = "brian2cppyy-compile" if background else threading.current_thread().name
    assert set(in_run) == {expected}

    # the same model, other constant, compiled the other way: same results
    prefs.codegen.runtime.cppyy.compile_in_background = not background
    other, other_group, other_monitor = _network(10.0 + 0.125 * background)
    other.run(30 * ms)
    assert monitor.num_spikes > 0
    np.testing.assert_array_equal(monitor.i[:], other_monitor.i[:])
    np.testing.assert_array_equal(monitor.t[:], other_monitor.t[:])
    np.testing.assert_array_equal(group.v[:], other_group.v[:])


@pytest.mark.parametrize("background", [True, False])
def test_a_kernel_that_does_not_compile_names_its_object_either_way(background):
    prefs.codegen.runtime.cppyy.compile_in_background = background

    @implementation("cpp", "double broken_in_thread_b2c(double x) { return x + ; }")
    @check_units(x=1, result=1)
    def broken_in_thread_b2c(x):
        return x

    group = NeuronGroup(3, "dv/dt = broken_in_thread_b2c(v) / ms : 1", method="euler",
                        name="group_with_broken_kernel",
                        namespace={"broken_in_thread_b2c": broken_in_thread_b2c})
    group.v = 0.5
    net = Network(group)
    with pytest.raises(BrianObjectException) as excinfo:
        net.run(1 * ms)
    # as Brian2 reports an object whose preparation failed, with Cling's words
    assert "group_with_broken_kernel" in str(excinfo.value)
    error = cause_of_type(excinfo.value, CppyyCompilationError)
    assert "'broken_in_thread_b2c'" in str(error) and "expected expression" in str(error)
    # the process and the user's data stay usable
    np.testing.assert_array_equal(group.v[:], 0.5)
    working, working_group, _ = _network(11.0 + 0.125 * background)
    working.run(2 * ms)
    assert np.all(np.isfinite(working_group.v[:]))


def test_cppyy_is_handed_out_only_when_the_compile_thread_is_idle():
    runtime.start()
    finished = []

    def slow_job():
        time.sleep(0.3)
        finished.append(True)

    future = compile_thread.submit(slow_job)
    runtime.start()  # what every user of cppyy calls first
    assert future.done() and finished == [True]


def test_a_fork_waits_for_the_compile_thread_and_the_child_compiles_on_its_own():
    runtime.start()
    future = compile_thread.submit(time.sleep, 0.3)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a compile thread of its own
        try:
            ok = compile_thread.submit(lambda: 42).result(timeout=30) == 42
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    assert future.done()  # the fork waited for the job
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)


def test_a_compilation_on_the_main_thread_waits_for_queued_jobs_without_a_deadlock():
    # queued: a job that takes the lock (as every compilation on the thread
    # does) behind a slow one; meanwhile a kernel compiled on another thread
    # (as with compile_in_background off)
    runtime.start()

    def job_taking_the_lock():
        with runtime.lock:
            pass

    compile_thread.submit(time.sleep, 0.3)
    compile_thread.submit(job_taking_the_lock)
    done = []

    def compile_here():
        done.append(jit.compile_kernel(
            "int64_t _kernel(brian2cppyy::Slot*) { return 7; }  // no deadlock test"))

    caller = threading.Thread(target=compile_here)
    caller.start()
    caller.join(timeout=60)
    assert not caller.is_alive(), "the compilation waited for the compile thread forever"
    assert done and done[0] != 0


def test_jobs_submitted_for_idle_time_run_after_the_others_waiting_then():
    """`submit_when_idle`: a job that prepares (a header a later kernel will
    include) lets the kernels submitted after it compile first."""
    order = []
    release = threading.Event()
    blocker = compile_thread.submit(release.wait, 30)
    prepared = compile_thread.submit_when_idle(order.append, "prepared")
    first = compile_thread.submit(order.append, "kernel 1")
    second = compile_thread.submit(order.append, "kernel 2")
    release.set()
    for future in (blocker, prepared, first, second):
        future.result(timeout=30)
    assert order == ["kernel 1", "kernel 2", "prepared"]
    compile_thread.wait_idle()  # waits for the idle-time jobs too
