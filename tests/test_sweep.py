"""brian2cppyy.sweep (issue 11): parameter sweeps on Dask with compile-once
workers.

One LocalCluster of 2 worker processes (one thread each) serves the whole
module (``shared_client``); the tests that need another cluster start their
own (an embedded one, ``dask scheduler``/``dask worker`` processes on
127.0.0.1) and shut every process down, also on failure. The module's model
functions are pickled by value, so workers need not import this file.
"""

import inspect
import math
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

# needs the 'sweep' extra (make test installs it): no skip, a missing extra is a failure
import cloudpickle
from distributed import Client, LocalCluster

import brian2cppyy
from brian2 import Hz, NeuronGroup, NetworkOperation, SpikeMonitor, ms, run, start_scope
from brian2cppyy.sweeps import SweepInterrupted, SweepResult, worker
from brian2cppyy.sweeps.record import RunRecord, split_outputs

cloudpickle.register_pickle_by_value(sys.modules[__name__])

# all tests of this module in one xdist process (make test: --dist loadgroup),
# so that they share one cluster
pytestmark = pytest.mark.xdist_group("sweep")

SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src")
COLUMNS = ["repeat", "seed", "status", "error", "wall_s", "worker", "from_store"]


def noisy_lif(I, tau_ms=10):
    """20 noisy LIF neurons for 50 ms: the noise makes every seed count."""
    start_scope()
    G = NeuronGroup(20, "dv/dt = (I - v)/tau + 0.5*xi/sqrt(tau) : 1", threshold="v > 1",
                    reset="v = 0", method="euler",
                    namespace={"I": I, "tau": tau_ms * ms})
    M = SpikeMonitor(G)
    run(50 * ms)
    return {"rate": M.num_spikes / (20 * 0.05) * Hz, "n_spikes": int(M.num_spikes),
            "counts": np.asarray(M.count), "spike_i": np.asarray(M.i)}


def failing_model(I):
    if I > 1.5:
        raise ValueError(f"I = {I} is too large for this model")
    return noisy_lif(I)


def broken_model(I):
    start_scope()
    G = NeuronGroup(1, "dv/dt = (I - v)/tau_unknown : 1", namespace={"I": I})  # noqa: F841
    run(1 * ms)
    return {}


def dying_model(I, marker=""):
    """Kills its worker process, the first time only when ``marker`` names a
    file (the file records that it died once), always otherwise."""
    if I > 1.5:
        if not marker or not os.path.exists(marker):
            if marker:
                open(marker, "w").close()
            os._exit(3)
    return {"I_seen": I}


def dying_with_a_run_queued(I, queued=""):
    """For I > 1.5, kills its worker, but only once another task waits in that
    worker's queue (its key is written to the file ``queued`` first); else
    returns I."""
    if I > 1.5:
        from distributed import get_worker

        state = get_worker().state
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            waiting = [key for key, task in list(state.tasks.items()) if task.state == "ready"]
            if waiting:
                with open(queued, "w") as f:
                    f.write(str(waiting[0]))
                os._exit(3)
            time.sleep(0.01)
        raise RuntimeError("no other task was queued on this worker within 60 s")
    return {"I_seen": I}


def current_thread(k):
    return {"thread": threading.current_thread().name}


def compile_probe(w):
    """A model of its own (no other test compiles these equations)."""
    start_scope()
    G = NeuronGroup(10, "dv/dt = (w*1.25 - v)/(7.5*ms) : 1", threshold="v > 1.0",
                    reset="v = 0.125", method="exact", namespace={"w": w})
    M = SpikeMonitor(G)
    run(20 * ms)
    return {"n": int(M.num_spikes)}


def slow_model(I, started=""):
    """A run that lasts about 2.5 s of wall-clock time (a NetworkOperation
    sleeps every simulated ms); touches ``started`` when the run begins."""
    start_scope()
    G = NeuronGroup(5, "dv/dt = (I - v)/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="exact", namespace={"I": I})
    M = SpikeMonitor(G)

    def pause():
        if started and not os.path.exists(started):
            open(started, "w").close()
        time.sleep(0.004)

    net_op = NetworkOperation(pause, dt=1 * ms)
    run(600 * ms, namespace={})
    return {"n": int(M.num_spikes), "t_end_ms": float(net_op.clock.t / ms)}


@pytest.fixture(scope="module")
def shared_client():
    import dask

    from brian2cppyy.sweeps.cluster import EMBEDDED_CLUSTER_CONFIG

    # as sweep() sets them for its own cluster, for the cluster's whole life
    # (the tests kill workers every few seconds: see EMBEDDED_CLUSTER_CONFIG)
    with dask.config.set(EMBEDDED_CLUSTER_CONFIG):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address="127.0.0.1:0", host="127.0.0.1")
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


def table_without_timing(result):
    return result.table.drop(columns=["wall_s", "worker", "from_store"]).reset_index(drop=True)


# --- 1. the API --------------------------------------------------------------------------

def test_signature_is_the_specified_one():
    parameters = inspect.signature(brian2cppyy.sweep).parameters
    assert [(p.name, p.kind.name, p.default) for p in parameters.values()] == [
        ("function", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("params", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("repeats", "KEYWORD_ONLY", 1), ("seed", "KEYWORD_ONLY", 0),
        ("client", "KEYWORD_ONLY", None), ("n_workers", "KEYWORD_ONLY", None),
        ("store", "KEYWORD_ONLY", None), ("resume", "KEYWORD_ONLY", True),
        ("retries", "KEYWORD_ONLY", 0), ("progress", "KEYWORD_ONLY", True)]
    assert brian2cppyy.SweepResult is SweepResult


def test_grid_table_arrays_and_xarray(shared_client):
    result = brian2cppyy.sweep(noisy_lif, {"I": [1.2, 2.0], "tau_ms": [10, 20]},
                               client=shared_client, progress=False)
    table = result.table
    assert list(table.columns) == ["I", "tau_ms"] + COLUMNS + ["rate", "n_spikes"]
    assert list(zip(table.I, table.tau_ms, table.repeat)) == [
        (I, tau, 0) for I in (1.2, 2.0) for tau in (10, 20)]
    assert (table.status == "ok").all() and (table.error == "").all()
    assert (table.wall_s > 0).all() and not table.from_store.any()
    assert set(table.worker) <= set(shared_client.scheduler_info()["workers"])
    assert result.units == {"rate": "Hz"}
    # per-row arrays agree with the scalars
    counts = result.arrays("counts")
    assert [int(c.sum()) for c in counts] == list(table.n_spikes)
    assert [len(s) for s in result.arrays("spike_i")] == list(table.n_spikes)
    with pytest.raises(KeyError, match="no array output 'rates'.*counts, spike_i"):
        result.arrays("rates")
    # each row is what the same run gives in this process (same seed, same model)
    for row in (3,):
        params = {"I": table.I[row], "tau_ms": int(table.tau_ms[row])}
        local = worker.run_one(noisy_lif, params, int(table.seed[row]))
        assert local.scalars["n_spikes"] == table.n_spikes[row]
        np.testing.assert_array_equal(local.arrays["spike_i"], result.arrays("spike_i")[row])
    # the grid as an xarray.Dataset; spike_i's length differs per run, so it is left out
    with pytest.warns(UserWarning, match="'spike_i' has different shapes"):
        dataset = result.to_xarray()
    assert dict(dataset.sizes) == {"I": 2, "tau_ms": 2, "repeat": 1, "counts_dim_0": 20}
    assert list(dataset.I.values) == [1.2, 2.0] and list(dataset.tau_ms.values) == [10, 20]
    assert dataset.rate.attrs["units"] == "Hz"
    assert dataset.n_spikes.sel(I=2.0, tau_ms=10, repeat=0) == table.n_spikes[2]
    np.testing.assert_array_equal(dataset.counts.sel(I=1.2, tau_ms=20, repeat=0), counts[1])
    assert "spike_i" not in dataset


def test_list_of_dicts_runs_exactly_those_sets(shared_client):
    sets = [{"I": 2.0, "tau_ms": 20}, {"I": 1.2, "tau_ms": 10}]
    result = brian2cppyy.sweep(noisy_lif, sets, client=shared_client, progress=False)
    assert list(zip(result.table.I, result.table.tau_ms)) == [(2.0, 20), (1.2, 10)]
    with pytest.warns(UserWarning, match="'spike_i' has different shapes"):
        dataset = result.to_xarray()
    assert np.isnan(dataset.n_spikes.sel(I=2.0, tau_ms=10, repeat=0))  # not in the sets
    assert dataset.n_spikes.sel(I=1.2, tau_ms=10, repeat=0) == result.table.n_spikes[1]


# --- 2. Dask is the engine: plugin, compile-once workers, embedded and external clusters ----

def test_workers_are_prepared_in_their_main_thread(shared_client):
    brian2cppyy.sweep(noisy_lif, {"I": [1.2]}, client=shared_client, progress=False)
    info = shared_client.run(worker.prepare_process)
    assert len(info) == 2
    assert {entry["thread"] for entry in info.values()} == {"MainThread"}
    # ... while the runs themselves go to the worker's task thread
    result = brian2cppyy.sweep(current_thread, {"k": [0, 1]}, client=shared_client,
                               progress=False)
    assert all(name != "MainThread" for name in result.table.thread)
    started = shared_client.run(lambda: brian2cppyy.cache_info()["started"])
    assert all(started.values())


def test_later_runs_of_a_model_compile_nothing(shared_client):
    before = shared_client.run(brian2cppyy.stats)
    first = brian2cppyy.sweep(compile_probe, {"w": [1.0, 1.5]}, client=shared_client,
                              progress=False)
    middle = shared_client.run(brian2cppyy.stats)
    later = brian2cppyy.sweep(compile_probe, {"w": [2.0, 2.5, 3.0, 3.5]},
                              client=shared_client, progress=False)
    after = shared_client.run(brian2cppyy.stats)
    assert (first.table.status == "ok").all() and (later.table.status == "ok").all()
    compiled_first = sum(middle[w]["compiled"] - before[w]["compiled"] for w in before)
    compiled_later = sum(after[w]["compiled"] - middle[w]["compiled"] for w in before)
    hits_later = sum(after[w]["cache_hits"] - middle[w]["cache_hits"] for w in before)
    assert compiled_first > 0  # the first sweep compiled the model's kernels ...
    assert compiled_later == 0  # ... the workers kept them: the later runs compile nothing
    assert hits_later > 0


def test_embedded_cluster_with_one_worker_gives_the_same_table(shared_client):
    import psutil

    params = {"I": [1.2, 2.0]}
    on_two = brian2cppyy.sweep(noisy_lif, params, repeats=2, client=shared_client,
                               progress=False)
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    on_one = brian2cppyy.sweep(noisy_lif, params, repeats=2, n_workers=1, progress=False)
    assert on_one.table.worker.nunique() == 1
    assert table_without_timing(on_one).equals(table_without_timing(on_two))
    # the embedded cluster is closed: no process of it is left
    deadline = time.time() + 20
    while time.time() < deadline:
        left = {p.pid for p in psutil.Process().children(recursive=True)} - children_before
        if not left:
            break
        time.sleep(0.2)
    assert not left


def worker_overheads(k):
    """What a worker process costs besides its runs: the objects excluded from
    garbage collection, and the Dask settings of the worker it runs on."""
    import gc

    import dask

    return {"frozen": gc.get_freeze_count(),
            "profiler": dask.config.get("distributed.worker.profile.enabled"),
            "tick": str(dask.config.get("distributed.admin.tick.interval"))}


def test_workers_are_frozen_and_the_embedded_cluster_is_quiet(shared_client):
    from brian2cppyy.sweeps.cluster import EMBEDDED_CLUSTER_CONFIG

    # every worker froze its heap once prepared (else Brian2's gc.collect() at the
    # start of each run walks all the imported modules again) ...
    shared = brian2cppyy.sweep(worker_overheads, {"k": [0, 1, 2, 3]}, client=shared_client,
                               progress=False)
    assert (shared.table.frozen > 10_000).all()
    # ... and garbage built after the freeze is still collected (Brian2's warnings
    # about unused objects depend on it)
    def collects_a_cycle():
        import gc

        cycle = []
        cycle.append(cycle)
        del cycle
        return gc.collect()

    assert all(n >= 1 for n in shared_client.run(collects_a_cycle).values())
    # the embedded cluster hands its settings to its worker processes
    embedded = brian2cppyy.sweep(worker_overheads, {"k": [0]}, n_workers=1, progress=False)
    assert not embedded.table.profiler[0]  # Dask's default is on
    assert embedded.table.tick[0] == EMBEDDED_CLUSTER_CONFIG["distributed.admin.tick.interval"]
    assert embedded.table.frozen[0] > 10_000


def fork_probe(w):
    """A model of its own (no other test compiles these equations); also
    reports how many kernels this run compiled and the process's dump_dir."""
    from brian2 import get_device, prefs

    before = brian2cppyy.stats()["compiled"]
    start_scope()
    G = NeuronGroup(10, "dv/dt = (w*1.5 - v)/(6.25*ms) : 1", threshold="v > 1.0",
                    reset="v = 0.25", method="exact", namespace={"w": w})
    M = SpikeMonitor(G)
    run(20 * ms, namespace={})
    return {"n": int(M.num_spikes), "compiled": brian2cppyy.stats()["compiled"] - before,
            "dump_dir": str(prefs["codegen.runtime.cppyy.dump_dir"]), "pid": os.getpid(),
            "device": type(get_device()).__name__}


def _embedded_sweep_with_dump_dir(dump_dir, params):
    from brian2 import prefs

    prefs["codegen.runtime.cppyy.dump_dir"] = str(dump_dir)
    try:
        return brian2cppyy.sweep(fork_probe, params, n_workers=1, progress=False)
    finally:
        prefs["codegen.runtime.cppyy.dump_dir"] = None


def test_embedded_workers_are_forked_with_the_callers_kernels_and_preferences(tmp_path):
    from brian2cppyy.sweeps import cluster

    assert cluster.start_method(1) == ("fork" if sys.platform.startswith("linux") else "spawn")
    if not sys.platform.startswith("linux"):
        return
    # a model that this process has compiled: the forked worker compiles nothing of it
    local = worker.run_one(fork_probe, {"w": 1.0}, 7)
    assert local.ok and local.scalars["compiled"] > 0
    from brian2.devices.device import reset_device, set_device

    set_device("cpp_standalone", build_on_run=False)  # not what the workers inherit
    try:
        result = _embedded_sweep_with_dump_dir(tmp_path / "dump", {"w": [1.0, 1.5]})
    finally:
        reset_device()
    assert list(result.table.status) == ["ok", "ok"]
    assert list(result.table.device) == ["RuntimeDevice"] * 2
    assert list(result.table.compiled) == [0, 0]
    assert result.table.pid[0] != os.getpid()
    assert list(result.table.dump_dir) == [str(tmp_path / "dump")] * 2
    # ... and runs it as this process does (same seed, same spikes)
    again = worker.run_one(fork_probe, {"w": 1.5}, int(result.table.seed[1]))
    assert again.scalars["n"] == result.table.n[1]


def test_spawned_embedded_workers_get_the_callers_preferences(tmp_path, monkeypatch):
    from brian2cppyy.sweeps import cluster

    monkeypatch.setattr(cluster, "FORK_MEMORY_SHARE", 0.0)  # this process is "too large"
    assert cluster.start_method(1) == "spawn"
    dump = tmp_path / "dump"
    result = _embedded_sweep_with_dump_dir(dump, {"w": [2.0, 2.5]})
    assert list(result.table.status) == ["ok", "ok"]
    assert list(result.table.dump_dir) == [str(dump)] * 2
    assert list(result.table.compiled) != [0, 0]  # a fresh process compiles the model ...
    assert list(dump.glob("*.cpp"))  # ... and dumps its kernels where the caller said


def test_fork_is_for_linux_and_a_caller_small_next_to_a_workers_memory():
    from brian2cppyy.sweeps import cluster

    gib = 2**30
    on_linux = sys.platform.startswith("linux")
    # LocalCluster gives each of n workers total/n of memory; the caller's resident
    # size may be at most FORK_MEMORY_SHARE of that
    share = cluster.FORK_MEMORY_SHARE
    assert cluster.fork_allowed(2, resident_bytes=share * 4 * gib, total_bytes=8 * gib) \
        is on_linux
    assert not cluster.fork_allowed(2, resident_bytes=share * 4.1 * gib, total_bytes=8 * gib)
    assert not cluster.fork_allowed(8, resident_bytes=share * 4 * gib, total_bytes=8 * gib)


def test_preferences_that_cannot_be_pickled_stay_the_workers_own():
    from brian2cppyy.sweeps import cluster

    lock = threading.Lock()
    assert cluster._picklable({"core.a": 1.5, "core.b": lock, "core.c": [1, 2]}) == {
        "core.a": 1.5, "core.c": [1, 2]}


def test_forks_wait_for_cling_while_an_embedded_cluster_forks(monkeypatch):
    from brian2cppyy.cling import runtime
    from brian2cppyy.sweeps import cluster

    if not sys.platform.startswith("linux"):
        return
    cluster._install_fork_hooks()
    monkeypatch.setattr(cluster, "_forking_clusters", 1)
    in_cling, release = threading.Event(), threading.Event()

    def compiling():  # another thread is inside Cling (holds its lock) for a while
        with runtime.lock:
            in_cling.set()
            release.wait(10)

    thread = threading.Thread(target=compiling)
    thread.start()
    in_cling.wait(10)
    threading.Timer(0.5, release.set).start()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child's copy of the lock is free
        os._exit(0 if runtime.lock.acquire(blocking=False) else 1)
    waited = time.monotonic() - start
    _, status = os.waitpid(pid, 0)
    thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
    assert waited >= 0.45  # the fork waited until no thread was inside Cling
    assert runtime.lock.acquire(blocking=False)  # ... and released the lock afterwards
    runtime.lock.release()


def test_dask_scheduler_and_worker_processes_on_localhost(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    bin_dir = os.path.dirname(sys.executable)
    processes = []
    try:
        processes.append(subprocess.Popen(
            [os.path.join(bin_dir, "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(scheduler_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        processes.append(subprocess.Popen(
            [os.path.join(bin_dir, "dask"), "worker", address, "--nworkers", "1",
             "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address) as client:
            client.wait_for_workers(1, timeout=60)
            result = brian2cppyy.sweep(noisy_lif, {"I": [1.2, 2.0]}, client=address,
                                       progress=False)
            assert (result.table.status == "ok").all()
            assert result.table.worker.str.startswith("tcp://127.0.0.1:").all()
            # the cluster is left as it was: still there, same workers
            assert len(client.scheduler_info()["workers"]) == 1
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- 3. reproducible ---------------------------------------------------------------------

def test_seeds_depend_on_values_not_on_order_and_repeats_differ(shared_client):
    forward = brian2cppyy.sweep(noisy_lif, [{"I": 1.2}, {"I": 2.0}], repeats=2,
                                client=shared_client, progress=False)
    backward = brian2cppyy.sweep(noisy_lif, [{"I": 2.0}, {"I": 1.2}], repeats=2,
                                 client=shared_client, progress=False)
    key = ["I", "repeat"]
    assert table_without_timing(forward).sort_values(key).reset_index(drop=True).equals(
        table_without_timing(backward).sort_values(key).reset_index(drop=True))
    # repeats are different trials: different seeds, different spike trains
    for I in (1.2, 2.0):
        rows = forward.table[forward.table.I == I]
        assert rows.seed.nunique() == 2
        trains = [tuple(forward.arrays("spike_i")[i]) for i in rows.index]
        assert len(set(trains)) == 2
    # another base seed gives other trials
    other = brian2cppyy.sweep(noisy_lif, [{"I": 1.2}], seed=1, client=shared_client,
                              progress=False)
    assert other.table.seed[0] != forward.table.seed[0]


# --- 4. nothing lost ---------------------------------------------------------------------

def _stored_runs(directory):
    """The record files of the store in ``directory``."""
    from brian2cppyy.sweeps import store

    return list(Path(directory).glob("*" + store._SUFFIX))


def test_store_keeps_runs_and_a_larger_sweep_runs_only_what_is_missing(shared_client, tmp_path):
    store = tmp_path / "store"
    first = brian2cppyy.sweep(noisy_lif, {"I": [1.2, 2.0]}, repeats=2, client=shared_client,
                              store=store, progress=False)
    assert not first.table.from_store.any()
    assert len(_stored_runs(store)) == 4
    assert not list(store.glob(".writing-*"))  # no temporary file is left behind
    larger = brian2cppyy.sweep(noisy_lif, {"I": [1.2, 2.0, 3.0]}, repeats=2,
                               client=shared_client, store=store, progress=False)
    assert list(larger.table.from_store) == [True] * 4 + [False] * 2
    reused = larger.table[larger.table.from_store].reset_index(drop=True)
    assert reused.wall_s.tolist() == first.table.wall_s.tolist()  # not run again
    assert reused.n_spikes.tolist() == first.table.n_spikes.tolist()
    np.testing.assert_array_equal(larger.arrays("spike_i")[3], first.arrays("spike_i")[3])
    assert len(_stored_runs(store)) == 6
    # a store belongs to one function
    with pytest.raises(ValueError) as refused:
        brian2cppyy.sweep(failing_model, {"I": [1.2]}, client=shared_client, store=store)
    for fact in ("'test_sweep.noisy_lif'", "'test_sweep.failing_model'", str(store)):
        assert fact in str(refused.value), fact
    # resume=False runs everything again, with the same results
    again = brian2cppyy.sweep(noisy_lif, {"I": [1.2]}, client=shared_client, store=store,
                              resume=False, progress=False)
    assert not again.table.from_store.any()
    assert again.table.n_spikes[0] == first.table.n_spikes[0]


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(shared_client, tmp_path):
    result = brian2cppyy.sweep(failing_model, {"I": [1.2, 2.0, 1.3]}, client=shared_client,
                               store=tmp_path, progress=False)
    assert list(result.table.status) == ["ok", "failed", "ok"]
    assert result.table.error[1] == "ValueError: I = 2.0 is too large for this model"
    assert result.table.error[0] == "" and np.isnan(result.table.n_spikes[1])
    assert result.arrays("spike_i")[1] is None
    assert list(result.failed.index) == [1]
    assert len(_stored_runs(tmp_path)) == 2  # the failed run is not stored
    # Brian2's error names the object; its cause says what is wrong: both are recorded
    broken = brian2cppyy.sweep(broken_model, {"I": [1]}, client=shared_client, progress=False)
    assert broken.table.error[0].startswith("BrianObjectException: ")
    assert "caused by" in broken.table.error[0] and "tau_unknown" in broken.table.error[0]
    # a function that returns something else than a dict of scalars and arrays
    bad = brian2cppyy.sweep(lambda I: {"status": I}, {"I": [1]}, client=shared_client,
                            progress=False)
    assert bad.table.error[0].startswith("TypeError: ") and "'status'" in bad.table.error[0]
    bad = brian2cppyy.sweep(lambda I: [I], {"I": [1]}, client=shared_client, progress=False)
    assert bad.table.error[0].startswith("TypeError: ") and "list" in bad.table.error[0]


def test_a_dying_worker_is_retried_then_recorded_as_failed(shared_client, tmp_path):
    died = brian2cppyy.sweep(dying_model, {"I": [1.0, 2.0]}, client=shared_client,
                             progress=False)
    assert list(died.table.status) == ["ok", "failed"]
    assert died.table.error[1].startswith("the worker died while running it (1 attempt)")
    marker = str(tmp_path / "died-once")
    retried = brian2cppyy.sweep(dying_model, {"I": [1.0, 2.0], "marker": [marker]},
                                retries=1, client=shared_client, progress=False)
    assert os.path.exists(marker)  # the first attempt died ...
    assert list(retried.table.status) == ["ok", "ok"]  # ... the retry finished
    assert list(retried.table.I_seen) == [1.0, 2.0]
    shared_client.wait_for_workers(2, timeout=60)


def test_a_run_queued_on_a_dying_worker_is_not_charged(tmp_path):
    # one worker of one thread: the run I=1.0 waits in its queue while the run
    # I=2.0 kills it; Dask fails both (allowed-failures = 0), the sweep charges
    # only the run that was executing and resubmits the other one for free
    queued = str(tmp_path / "queued")
    result = brian2cppyy.sweep(dying_with_a_run_queued, {"I": [2.0, 1.0], "queued": [queued]},
                               n_workers=1, retries=0, progress=False)
    with open(queued) as f:
        waiting = f.read().split("-")  # brian2cppyy-sweep-<token>-<run index>-...
    assert waiting[:2] + waiting[3:4] == ["brian2cppyy", "sweep", "1"]  # I=1.0 waited there
    assert list(result.table.status) == ["failed", "ok"]
    assert result.table.error[0].startswith("the worker died while running it (1 attempt)")
    assert list(result.table.I_seen[1:]) == [1.0]


def test_ctrl_c_cancels_and_keeps_what_finished(shared_client, tmp_path):
    store = tmp_path / "store"
    stop_waiting = threading.Event()

    def press_ctrl_c_once_a_run_is_stored():
        while not stop_waiting.wait(0.05):
            if _stored_runs(store):
                _thread.interrupt_main()  # as a Ctrl-C in the terminal
                return

    import _thread

    presser = threading.Thread(target=press_ctrl_c_once_a_run_is_stored)
    presser.start()
    try:
        with pytest.raises(SweepInterrupted) as excinfo:
            brian2cppyy.sweep(slow_model, {"I": [1.1 + 0.1 * k for k in range(8)]},
                              client=shared_client, store=store, progress=False)
    finally:
        stop_waiting.set()
        presser.join()
    from brian2cppyy.sweeps.seeds import run_key

    partial = excinfo.value.result
    assert isinstance(excinfo.value, KeyboardInterrupt)
    assert 0 < len(partial.table) < 8
    assert (partial.table.status == "ok").all()
    assert (partial.table.t_end_ms == 600).all()  # only whole runs
    # every finished run is stored (a Ctrl-C right after a store write leaves one more)
    stored = {p.name.split(".")[0] for p in _stored_runs(store)}
    keys = {run_key({"I": I}, 0, 0) for I in partial.table.I}
    assert keys <= stored and len(stored) <= len(keys) + 1
    assert "runs finished" in str(excinfo.value)
    # the cancelled runs are gone from the cluster (a running one may finish first)
    deadline = time.time() + 30
    while shared_client.processing() and any(shared_client.processing().values()):
        assert time.time() < deadline
        time.sleep(0.2)


def test_a_run_stopped_early_by_ctrl_c_is_not_finished(shared_client, tmp_path):
    started = str(tmp_path / "started")
    future = shared_client.submit(worker.run_one, slow_model, {"I": 1.5, "started": started},
                                  1, pure=False)
    deadline = time.time() + 60
    while not os.path.exists(started):
        assert time.time() < deadline and not future.done(), "the run did not start"
        time.sleep(0.05)
    pid = shared_client.run(os.getpid, workers=[_processing_worker(shared_client, future)])
    (worker_pid,) = pid.values()
    os.kill(worker_pid, signal.SIGINT)  # Brian2 turns it into Network.stop()
    record = future.result(timeout=60)
    assert record.status == "failed"
    assert record.error == worker.INTERRUPTED
    # the worker survived the Ctrl-C and runs the next run to the end
    again = shared_client.submit(worker.run_one, slow_model, {"I": 1.5}, 1, pure=False)
    assert again.result(timeout=60).scalars["t_end_ms"] == 600


def _processing_worker(client, future):
    for address, keys in client.processing().items():
        if future.key in keys:
            return address
    raise AssertionError("the task is not running on any worker")


# --- 5. clear errors before anything is submitted ----------------------------------------

def _global_group():
    return NeuronGroup(1, "v : 1", name="outside_group")


def test_clear_errors_before_submitting():
    def sweep(function, params, **kwds):
        # client='tcp://127.0.0.1:1': were anything submitted, it would fail differently
        return brian2cppyy.sweep(function, params, client="tcp://127.0.0.1:1", **kwds)

    group = _global_group()

    def uses_outside_group(I):
        return {"N": len(group)}

    lock = threading.Lock()
    # (the call, the exception, the facts its message must name)
    cases = [
        (lambda: sweep(noisy_lif, {"I": []}), ValueError, ["params['I']", "empty"]),
        (lambda: sweep(noisy_lif, {}), ValueError, ["params", "empty dict"]),
        (lambda: sweep(noisy_lif, []), ValueError, ["params", "empty list"]),
        (lambda: sweep(noisy_lif, {"I": [1.0], "tau": [10]}), TypeError,
         ["noisy_lif()", "'tau'", "I, tau_ms"]),
        (lambda: sweep(noisy_lif, {"tau_ms": [10]}), TypeError, ["noisy_lif()", "'I'"]),
        (lambda: sweep(noisy_lif, {"I": 1.0}), TypeError, ["params['I']", "1.0"]),
        (lambda: sweep(noisy_lif, [{"I": 1.0}, {"I": 1.0}]), ValueError,
         ["{'I': 1.0}", "sets 0 and 1", "repeats="]),
        (lambda: sweep(lambda seed: {}, {"seed": [1]}), ValueError, ["'seed'"]),
        (lambda: sweep(noisy_lif, {"I": [1.0]}, repeats=0), ValueError, ["repeats", "0"]),
        (lambda: sweep(noisy_lif, {"I": [[1.0]]}), TypeError, ["'I'", "[1.0]", "list"]),
        (lambda: sweep(lambda I: {"locked": lock.locked()}, {"I": [1.0]}), TypeError,
         ["<lambda>()", "_thread.lock"]),
        (lambda: sweep(uses_outside_group, {"I": [1.0]}), TypeError,
         ["uses_outside_group()", "'group'", "NeuronGroup", "'outside_group'"]),
    ]
    for call, error, facts in cases:
        with pytest.raises(error) as excinfo:
            call()
        for fact in facts:
            assert fact in str(excinfo.value), (fact, str(excinfo.value))


def test_importing_brian2cppyy_does_not_import_dask_and_missing_dask_is_explained():
    code = (
        "import sys\n"
        "sys.modules['distributed'] = None  # as if the 'sweep' extra were not installed\n"
        "import brian2cppyy\n"
        "assert 'dask' not in sys.modules\n"
        "try:\n"
        "    brian2cppyy.sweep(lambda I: {}, {'I': [1]})\n"
        "except ImportError as exc:\n"
        "    print(exc)\n")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # the missing module, and the command that installs it
    assert "'distributed'" in proc.stdout and "pip install 'brian2cppyy[sweep]'" in proc.stdout


# --- 6. progress -------------------------------------------------------------------------

def test_progress_bar_and_summary(shared_client, capsys, tmp_path):
    brian2cppyy.sweep(noisy_lif, {"I": [1.2, 2.0]}, repeats=2, client=shared_client,
                      store=tmp_path)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("sweep [..............................] 0/4 runs, 0 failed")
    assert err[-2] == "sweep [##############################] 4/4 runs, 0 failed, done"
    assert err[-1].startswith("sweep: 4 runs; 4 ok, 0 failed; 4 run in ")
    assert err[-1].endswith(" on 2 workers")
    result = brian2cppyy.sweep(noisy_lif, {"I": [1.2, 2.0, 3.0]}, repeats=2,
                               client=shared_client, store=tmp_path)
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("sweep: 6 runs; 6 ok, 0 failed; 2 run in ")
    assert err[-1].endswith("; 4 from the store")
    assert result.summary == err[-1]
    failed = brian2cppyy.sweep(failing_model, {"I": [1.2, 2.0]}, client=shared_client)
    err = capsys.readouterr().err.splitlines()
    assert err[-2] == "sweep [##############################] 2/2 runs, 1 failed, done"
    assert failed.summary.startswith("sweep: 2 runs; 1 ok, 1 failed; 2 run in ")
    brian2cppyy.sweep(noisy_lif, {"I": [1.2]}, client=shared_client, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_estimates_the_time_left():
    from io import StringIO

    from brian2cppyy.sweeps.progress import ProgressBar

    stream = StringIO()
    bar = ProgressBar(10, reused=2, stream=stream)
    bar.start -= 4.0  # 4 s ago
    bar.update(done=2, failed=1)
    assert stream.getvalue().splitlines()[-1] == \
        "sweep [############..................] 4/10 runs, 1 failed, 12.0 s left"


# --- units of the sweep, without a cluster ------------------------------------------------

def test_run_keys_and_seeds_are_stable_and_exact():
    from brian2 import mV

    from brian2cppyy.sweeps.seeds import run_key, run_seed

    params = {"I": 1.5, "tau_ms": 10}
    assert run_seed(params, 0, 0) == run_seed({"tau_ms": 10, "I": 1.5}, 0, 0)  # order-free
    assert run_key(params, 0, 0) == run_key(dict(params), 0, 0)
    assert len({run_seed(params, r, 0) for r in range(50)}) == 50  # repeats differ
    assert run_seed(params, 0, 0) != run_seed(params, 0, 1)  # so do base seeds
    assert run_key({"I": 1}, 0, 0) != run_key({"I": 1.0}, 0, 0)  # 1 and 1.0 are not merged
    assert run_key({"I": 0.1 + 0.2}, 0, 0) != run_key({"I": 0.3}, 0, 0)  # full precision
    assert run_key({"V": 1 * mV}, 0, 0) != run_key({"V": 0.001}, 0, 0)  # units count
    assert run_key({"V": 1 * mV}, 0, 0) == run_key({"V": 0.001 * 1000 * mV}, 0, 0)
    assert 0 <= run_seed(params, 0, 0) < 2**32


def test_store_writes_whole_records_or_nothing(tmp_path):
    from brian2cppyy.sweeps.store import RunStore

    store = RunStore(tmp_path, "module.f")
    store.save("k1", RunRecord(status="ok", scalars={"x": 1}, wall_s=0.5))
    with pytest.raises(Exception):
        store.save("k2", RunRecord(status="ok", scalars={"lock": threading.Lock()}))
    assert store.keys() == {"k1"}
    assert sorted(os.listdir(tmp_path)) == ["k1.run.npz", "sweep.json"]  # no temporary left
    assert RunStore(tmp_path, "module.f").load("k1") == RunRecord(status="ok", scalars={"x": 1},
                                                                  wall_s=0.5)
    assert RunStore(tmp_path, "module.f").load("missing") is None


def test_store_gives_back_outputs_exactly(tmp_path):
    from brian2cppyy.sweeps.store import RunStore

    scalars = {"big": 2**70, "sum": 0.1 + 0.2, "z": 1 + 2j, "flag": True, "name": "x",
               "raw": b"ab", "nan": float("nan")}
    arrays = {"v": np.linspace(0, 1, 7), "i": np.arange(4, dtype=np.int32)}
    store = RunStore(tmp_path, "module.f")
    store.save("k", RunRecord(status="ok", wall_s=0.25, worker="w", scalars=scalars,
                              arrays=arrays, units={"v": "mV"}))
    loaded = RunStore(tmp_path, "module.f").load("k")
    assert list(loaded.scalars) == list(scalars)  # the table's column order
    for name, value in scalars.items():
        assert type(loaded.scalars[name]) is type(value), name
    assert {k: v for k, v in loaded.scalars.items() if k != "nan"} == \
        {k: v for k, v in scalars.items() if k != "nan"}
    assert math.isnan(loaded.scalars["nan"])
    for name, value in arrays.items():
        assert loaded.arrays[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded.arrays[name], value)
    assert (loaded.status, loaded.wall_s, loaded.worker, loaded.units) == ("ok", 0.25, "w",
                                                                          {"v": "mV"})


class _Trap:
    """Unpickling it would create the file ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_store_reads_data_never_code(tmp_path):
    """A file under a key that is not a valid record (a pickle that runs code
    when loaded, an object array, a record without its fields) is absent: its
    run runs again, and nothing in the file is executed."""
    from brian2cppyy.sweeps.store import RunStore

    store = RunStore(tmp_path / "store", "module.f")
    trap = tmp_path / "executed"
    (tmp_path / "store" / "a.run.npz").write_bytes(pickle.dumps(_Trap(str(trap))))
    np.savez(tmp_path / "store" / "b.run.npz", record=np.array([_Trap(str(trap))], dtype=object))
    np.savez(tmp_path / "store" / "c.run.npz", record=np.asarray('{"status": "ok"}'))
    assert store.keys() == {"a", "b", "c"}
    assert [store.load(key) for key in "abc"] == [None, None, None]
    assert not trap.exists()


def test_outputs_are_split_into_scalars_and_arrays_with_units():
    from brian2 import mV

    scalars, arrays, units = split_outputs(
        {"rate": 5 * Hz, "n": np.int64(3), "ok": True, "v": np.array([1.0, 2.0]) * mV,
         "counts": [1, 2, 3]}, {"I"})
    assert scalars == {"rate": 5.0, "n": 3, "ok": True}
    assert type(scalars["n"]) is int
    np.testing.assert_allclose(arrays["v"], [0.001, 0.002])
    np.testing.assert_array_equal(arrays["counts"], [1, 2, 3])
    assert units == {"rate": "Hz", "v": "mV"} or units == {"rate": "Hz", "v": "V"}
    with pytest.raises(TypeError) as clash:
        split_outputs({"I": 1.0}, {"I"})
    assert "'I'" in str(clash.value) and "parameter" in str(clash.value)
    with pytest.raises(TypeError) as unusable:
        split_outputs({"m": {1}}, set())
    assert "'m'" in str(unusable.value) and "set" in str(unusable.value)
