"""Threads (``codegen.runtime.cppyy.threads``, ``parallel_loops.hpp``, ``thread_pool.hpp``): results
bit for bit those of one thread, errors on worker threads reported as on the
calling thread, the pool's threads ending with the count and the process.

Most tests split every loop that may be split, whatever its size
(`threads.set_split_threshold(0)`), so that the threaded code runs even for
small networks; one checks that a small network is not split by default."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from brian2 import (
    Network, NeuronGroup, PreferenceError, SpikeMonitor, Synapses, ms, prefs, seed,
    start_scope,
)
from brian2.core.base import BrianObjectException

from brian2cppyy.loop import threads

from helpers import exception_chain

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")

#: steps of each benchmark workload compared (enough for spikes in each)
COMPARED_DURATION = 60 * ms

@pytest.fixture
def split_everything():
    threads.set_split_threshold(0)
    yield
    threads.set_split_threshold(20000)
    prefs["codegen.runtime.cppyy.threads"] = 1
    threads.apply()


def _states(net):
    """Every array of every group and monitor of ``net``, by name."""
    states = {}
    for obj in net.objects:
        if hasattr(obj, "get_states"):
            for name, value in obj.get_states(units=False).items():
                states[f"{obj.name}.{name}"] = np.array(value, copy=True)
    return states


def _run_workload(build, n_threads):
    prefs["codegen.runtime.cppyy.threads"] = n_threads
    net, duration = build()
    net.run(min(duration, COMPARED_DURATION))
    return _states(net)


def _assert_identical(reference, other, label):
    assert reference.keys() == other.keys(), label
    for name, value in reference.items():
        np.testing.assert_array_equal(other[name], value, err_msg=f"{label}: {name}")


def _workloads():
    sys.path.insert(0, BENCHMARKS)
    try:
        from workloads import WORKLOADS
    finally:
        sys.path.remove(BENCHMARKS)
    return WORKLOADS


@pytest.mark.parametrize("name", sorted(_workloads()))
def test_benchmark_workloads_identical_with_threads(name, split_everything):
    """Each benchmark workload, with 2 threads and with more threads than
    cores (3 here): every state variable and every monitor equal to one
    thread's, bit for bit; loops were split."""
    build = _workloads()[name]
    reference = _run_workload(build, 1)
    for n_threads in (2, 3):
        before = threads.split_loop_count()
        result = _run_workload(build, n_threads)
        assert threads.split_loop_count() > before, f"{name}: no loop was split"
        _assert_identical(reference, result, f"{name}, {n_threads} threads")


def _mixed_network(n_threads):
    """Every kind of split loop: state updates, a refractory threshold and
    reset, run_regularly (also on a subgroup), a summed variable, synaptic pathways (by target:
    on_pre; by synapse: on_post)."""
    start_scope()
    seed(11)
    prefs["codegen.runtime.cppyy.threads"] = n_threads
    G = NeuronGroup(3000, """dv/dt = (I - v)/(10*ms) : 1 (unless refractory)
                             I : 1
                             x : 1
                             s : 1""",
                    threshold="v > 1", reset="v = 0; x += 1", refractory=2 * ms,
                    method="exact", name="G")
    H = NeuronGroup(2000, "dv/dt = (1.2 - v)/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="exact", name="H")
    G.I = "1.5*rand()"
    H.v = "rand()"
    S = Synapses(H, G, "w : 1\ns_post = w*v_pre : 1 (summed)", on_pre="v_post += w",
                 on_post="w = clip(w + 0.001, 0, 0.02)")
    S.connect(p=0.02)
    S.w = "0.01*rand()"
    H.run_regularly("v = v*0.999", dt=1 * ms)
    G[500:2500].run_regularly("x = 0.5*x + v", dt=2 * ms)  # through _sub_idx
    monitor = SpikeMonitor(G, name="spikes")
    net = Network(G, H, S, monitor)
    net.run(50 * ms)
    return _states(net)


def test_every_split_kernel_identical(split_everything):
    reference = _mixed_network(1)
    assert len(reference["spikes.i"]) > 1000
    for n_threads in (2, 3):
        _assert_identical(reference, _mixed_network(n_threads), f"{n_threads} threads")


def test_small_network_is_not_split_by_default():
    """With the default threshold, loops whose work is a few microseconds
    stay on one thread."""
    prefs["codegen.runtime.cppyy.threads"] = 2
    G = NeuronGroup(20, "dv/dt = -v/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="exact")
    net = Network(G)
    net.run(1 * ms)
    before = threads.split_loop_count()
    net.run(5 * ms)
    assert threads.split_loop_count() == before
    prefs["codegen.runtime.cppyy.threads"] = 1
    threads.apply()


def test_exception_in_a_worker_part_names_the_group(split_everything):
    """Integer division by zero in the last part (a worker thread's): the
    BrianObjectException of the one-thread run; the pool works afterwards."""
    prefs["codegen.runtime.cppyy.threads"] = 2
    G = NeuronGroup(1000, "k : integer\nj : integer", name="divgroup")
    G.j = 1
    G.j[999] = 0
    G.run_regularly("k = 7 // j")
    net = Network(G)
    with pytest.raises(BrianObjectException) as raised:
        net.run(0.1 * ms)
    assert "object named 'divgroup'" in str(raised.value)
    assert any(isinstance(e, ZeroDivisionError) for e in exception_chain(raised.value))
    G.j[999] = 7
    before = threads.split_loop_count()
    net.run(0.1 * ms)
    assert threads.split_loop_count() > before
    np.testing.assert_array_equal(G.k[:], np.where(np.arange(1000) == 999, 1, 7))


def test_preference_values():
    assert threads.resolve("auto") == len(os.sched_getaffinity(0))
    assert threads.resolve(3) == 3
    for bad in (0, -1, 1.5, "all"):
        with pytest.raises(PreferenceError, match="positive integer or 'auto'"):
            prefs["codegen.runtime.cppyy.threads"] = bad


_WORKER_FAULT = r"""
import os, signal, ctypes
import brian2cppyy
from brian2 import *
from brian2cppyy.cling import contract, runtime
from brian2cppyy.loop import threads
prefs.codegen.target = 'cppyy'
cppyy = runtime.start()
cppyy.cppdef('''
namespace thread_pool_test {
int64_t faulting_kernel(brian2cppyy::Slot* slots) {
    static brian2cppyy::ParallelSite site;
    const size_t faulting_part = (size_t)slots[brian2cppyy::SLOT_FIRST_ARGUMENT].i;
    try {
        brian2cppyy::parallel_parts(site, 1000, [&](size_t part, size_t, size_t) {
            if (part == faulting_part) { volatile double* p = nullptr; *p = 1.0; }
        });
    } BRIAN2CPPYY_CATCH_ALL
    return 0;
}
int64_t call(int64_t part, brian2cppyy::ErrorRecord* error) {
    brian2cppyy::Slot slots[brian2cppyy::SLOT_FIRST_ARGUMENT + 1] = {};
    slots[brian2cppyy::SLOT_ERROR_RECORD].p = error;
    slots[brian2cppyy::SLOT_FIRST_ARGUMENT].i = part;
    const brian2cppyy::KernelCall call = {&faulting_kernel, slots};
    return brian2cppyy::guarded_kernel_call(&call);
}
}
''')
prefs.codegen.runtime.cppyy.threads = 2
threads.apply()
threads.set_split_threshold(0)
error = cppyy.gbl.brian2cppyy.ErrorRecord()
for part in (1, 0, 1):
    status = cppyy.gbl.thread_pool_test.call(part, error)
    print('fault', part, status == contract.values().ERR_FAULT, error.signal_number, flush=True)
status = cppyy.gbl.thread_pool_test.call(5, error)
print('healthy', status, threads.split_loop_count(), flush=True)
print('tasks', len(os.listdir('/proc/self/task')), flush=True)
"""


def test_fault_on_a_worker_thread_is_a_kernel_fault():
    """A SIGSEGV in the part of a worker (and of the calling thread): the
    kernel returns ERR_FAULT with the signal, as on the calling thread; the
    pool stays usable; the process ends normally with its workers."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_WORKER_FAULT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split("\n")
    faults = [line.split() for line in lines if line.startswith("fault")]
    assert faults == [["fault", part, "True", "11"] for part in ("1", "0", "1")], proc.stdout
    healthy = next(line.split() for line in lines if line.startswith("healthy"))
    assert healthy[1] == "0" and int(healthy[2]) == 4, proc.stdout
    assert "Break" not in proc.stderr


_ONE_THREAD_PROCESS = r"""
import brian2cppyy
from brian2 import *
from brian2cppyy.cling import runtime
from brian2cppyy.loop import threads
prefs.codegen.target = 'cppyy'
group = NeuronGroup(1000, 'dv/dt = (1 - v) / (10*ms) : 1', threshold='v > 0.9', reset='v = 0',
                    method='exact')
run(1 * ms)
print('pool on one thread', hasattr(runtime.start().gbl.brian2cppyy, 'ThreadPool'), flush=True)
threads.set_split_threshold(0)
prefs.codegen.runtime.cppyy.threads = 2
run(1 * ms)
print('pool on two threads', hasattr(runtime.start().gbl.brian2cppyy, 'ThreadPool'),
      threads.split_loop_count() > 0, flush=True)
"""


def test_the_pool_is_compiled_only_for_more_than_one_thread():
    """A process that runs on one thread never compiles the pool's code (it
    would cost Cling's start); setting two threads later compiles it, and the
    kernels compiled before then split their loops."""
    proc = subprocess.run([sys.executable, "-c", _ONE_THREAD_PROCESS],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pool on one thread False" in proc.stdout, proc.stdout
    assert "pool on two threads True True" in proc.stdout, proc.stdout


def _task_count():
    return len(os.listdir("/proc/self/task"))


def test_pool_threads_end_with_the_count(split_everything):
    """Workers exist while the preference asks for them, are not added by
    new scopes and networks, and are joined when it goes back to 1."""
    base = _task_count()
    for _ in range(2):
        start_scope()
        prefs["codegen.runtime.cppyy.threads"] = 3
        Network(NeuronGroup(100, "dv/dt = -v/ms : 1", method="exact")).run(0.2 * ms)
        assert _task_count() == base + 2
    prefs["codegen.runtime.cppyy.threads"] = 1
    Network(NeuronGroup(100, "dv/dt = -v/ms : 1", method="exact")).run(0.2 * ms)
    assert _task_count() == base


def test_parts_begin_at_whole_blocks_of_the_vectorised_loop():
    """Every part of a split loop begins at a multiple of PART_ALIGNMENT (the
    vectorised loop's blocks: an index is computed by the vector code or the
    scalar remainder as in the serial loop), the parts cover [0, n) in order,
    and their block counts differ by at most one."""
    import cppyy

    from brian2cppyy.cling import runtime

    runtime.start()
    pool = cppyy.gbl.brian2cppyy
    alignment = int(pool.PART_ALIGNMENT)
    assert alignment >= 64
    for n in (0, 1, 5, alignment - 1, alignment, alignment + 1, 1000, 4000, 4001, 65537):
        for parts in (1, 2, 3, 7):
            begins = [int(pool.part_begin(n, parts, k)) for k in range(parts + 1)]
            assert begins[0] == 0 and begins[-1] == n, (n, parts, begins)
            assert begins == sorted(begins), (n, parts, begins)
            assert all(b % alignment == 0 for b, e in zip(begins, begins[1:]) if e > b), (n, parts, begins)
            blocks = [-(-(end - begin) // alignment) for begin, end in zip(begins, begins[1:])]
            assert max(blocks) - min(blocks) <= 1, (n, parts, begins)


_DENORMALS_ON_WORKERS = """
import numpy as np, brian2cppyy
from brian2 import Network, NeuronGroup, ms, prefs, start_scope
from brian2cppyy.loop import threads
prefs.codegen.target = 'cppyy'
prefs.codegen.runtime.cppyy.threads = 2

def decay(split):
    start_scope()
    threads.set_split_threshold(0 if split else 10**15)
    group = NeuronGroup(1000, "dg/dt = -g/ms : 1", method="euler", name="decay")
    group.g = "1e-300 * (1 + (i % 50))"  # below the smallest normal double after ~18 ms
    Network(group).run(20 * ms)
    return group.g[:].copy()

decay(split=True)  # the pool's workers start, nothing flushed
prefs.codegen.generators.cpp.flush_denormals = True
reference = decay(split=False)  # the calling thread now flushes
before = threads.split_loop_count()
result = decay(split=True)
print("split", threads.split_loop_count() > before)
print("flushed", int(np.sum(reference == 0)), "in the second half", int(np.sum(reference[500:] == 0)))
print("identical", np.array_equal(result, reference))
"""


def test_workers_compute_in_the_calling_threads_floating_point_environment():
    """Brian2's flush_denormals sets flushing to zero on the thread that runs
    the kernel, here after the pool's workers started: their parts flush
    as well, the results equal the serial loop's. (In a process of its own:
    the flag stays set on the thread.)"""
    proc = subprocess.run([sys.executable, "-c", _DENORMALS_ON_WORKERS],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.strip().split("\n"))
    assert lines["split"] == "True", proc.stdout
    flushed = lines["flushed"].split()
    assert int(flushed[0]) > 0 and int(flushed[-1]) > 0, proc.stdout
    assert lines["identical"] == "True", proc.stdout


def test_a_site_splits_only_while_splitting_is_faster():
    """ParallelSite's decisions for given call times (fed to it, not
    measured): probe serial, probe split, use the faster; a split loop whose
    calls become slower than serial ones (a busy core) goes back to serial
    after SITE_CHECK_CALLS calls and probes again SITE_RETRY_CALLS calls later;
    while splitting pays, it probes again every SITE_USE_CALLS calls;
    a loop whose calls are cheaper than the threshold is never split."""
    from brian2cppyy.cling import runtime

    runtime.start()
    import cppyy.ll

    ns = cppyy.gbl.brian2cppyy
    probe, check = int(ns.SITE_PROBE_CALLS), int(ns.SITE_CHECK_CALLS)
    use, retry = int(ns.SITE_USE_CALLS), int(ns.SITE_RETRY_CALLS)
    threads.set_split_threshold(20000)
    n = 4000
    timed = cppyy.ll.array_new[bool](1)
    try:
        def call(site, ns_if_serial, ns_if_split):
            split = bool(site.choose_split(n, timed))
            if timed[0]:
                site.record(split, n, ns_if_split if split else ns_if_serial)
            return split

        site = ns.ParallelSite()
        assert [call(site, 100e3, 60e3) for _ in range(2 * probe)] == [False] * probe + [True] * probe
        assert all(call(site, 100e3, 60e3) for _ in range(100))  # split is faster
        # the split calls get slower: split until the check that sees it
        to_check = check - 100 % check
        assert all(call(site, 100e3, 150e3) for _ in range(to_check))
        # serial, until it probes again, SITE_RETRY_CALLS calls later
        assert not any(call(site, 100e3, 150e3) for _ in range(retry - 1))
        assert [call(site, 100e3, 60e3) for _ in range(2 * probe)] == [False] * probe + [True] * probe
        # split is faster again: split for a whole period, then probes
        assert all(call(site, 100e3, 60e3) for _ in range(use - 1))
        assert [call(site, 100e3, 60e3) for _ in range(2 * probe)] == [False] * probe + [True] * probe

        cheap = ns.ParallelSite()
        assert not any(call(cheap, 10e3, 1e3) for _ in range(use + 2 * probe))
    finally:
        cppyy.ll.array_delete(timed)
        threads.set_split_threshold(20000)
