"""The self-test of ``python -m brian2cppyy info``: a tiny network built and
run on the ``'cppyy'`` target, checked against the exact solution, timed
phase by phase (build, first run, run) with Cling's share of each phase.

The phases follow each other without a gap, so their figures add up to the
totals; every compilation of the self-test falls in one of them: a phase ends
when the compile thread is idle, so that a job it started (a header prepared
in idle time, `compile_thread.submit_when_idle`) is not counted in the next.
"""

import time

__all__ = ["self_test", "SELF_TEST_PHASES"]

#: the phases of the self-test, in order
SELF_TEST_PHASES = ("build", "first run", "run")
#: the self-test's model: neuron i relaxes to I = 0.5 + 0.25*i with tau = 10 ms, dt = 0.1 ms
#: (in seconds here, for the exact solution)
_NEURONS, _TAU, _DT = 8, 0.010, 0.0001


class _Phases:
    """Wall time and Cling's share of it, phase by phase."""

    _COUNTERS = ("seconds", "compile_seconds", "kernels_compiled", "kernels_cached")

    def __init__(self):
        from ..cling import compile_thread, jit

        self._jit = jit
        self._compile_thread = compile_thread
        self.rows = []
        self._start = time.perf_counter()
        self._stats = jit.stats()

    def end(self, name):
        """Close the phase that started where the previous one ended, once the
        compilations it started are done."""
        self._compile_thread.wait_idle()
        now, stats = time.perf_counter(), self._jit.stats()
        self.rows.append({
            "name": name,
            "seconds": now - self._start,
            "compile_seconds": stats["compile_seconds"] - self._stats["compile_seconds"],
            "kernels_compiled": stats["compiled"] - self._stats["compiled"],
            "kernels_cached": stats["cache_hits"] - self._stats["cache_hits"],
        })
        self._start, self._stats = now, stats

    def totals(self):
        return {key: sum(row[key] for row in self.rows) for key in self._COUNTERS}


def _build(phases):
    """The self-test's network and the objects to check, with unique names,
    an explicit `Network` and its own clock (the user's state is left alone)."""
    from brian2 import Clock, Network, NeuronGroup, SpikeMonitor, Synapses, ms

    clock = Clock(dt=0.1 * ms, name="brian2cppyy_selftest_clock*")
    # v relaxes to I: neurons with I > 1 fire at tau*log(I/(I-1)), then reset
    group = NeuronGroup(
        _NEURONS, "dv/dt = (I - v)/tau : 1\nI : 1 (constant)", threshold="v > 1",
        reset="v = 0", method="exact", clock=clock, name="brian2cppyy_selftest_group*",
    )
    group.I = "0.5 + 0.25*i"
    counter = NeuronGroup(1, "n : integer", clock=clock, name="brian2cppyy_selftest_counter*")
    synapses = Synapses(group, counter, on_pre="n_post += 1", clock=clock,
                        name="brian2cppyy_selftest_synapses*")
    synapses.connect()
    spikes = SpikeMonitor(group, name="brian2cppyy_selftest_spikes*")
    net = Network(group, counter, synapses, spikes, name="brian2cppyy_selftest_network*")
    phases.end("build")
    return net, group, counter, synapses, spikes


def _problems(duration_ms, group, counter, spikes):
    """What differs from the exact solution: the first spike of neuron i at
    tau*log(I/(I-1)), and v of the neurons that have not fired."""
    import numpy as np

    T = duration_ms / 1000.0
    I = 0.5 + 0.25 * np.arange(_NEURONS)
    problems = []
    for i in range(_NEURONS):
        times = np.asarray(spikes.t_[spikes.i[:] == i])
        if I[i] <= 1 or _TAU * np.log(I[i] / (I[i] - 1)) > T - _DT:
            expected_v = I[i] * (1 - np.exp(-T / _TAU))
            if len(times) or abs(group.v[i] - expected_v) > 1e-9:
                problems.append(f"neuron {i}: v={group.v[i]:.6g}, expected {expected_v:.6g}")
            continue
        period = _TAU * np.log(I[i] / (I[i] - 1))
        if not len(times) or abs(times[0] - period) > _DT + 1e-12:
            problems.append(f"neuron {i}: first spike {times[:1]}, expected {period:.6g} s")
    if int(counter.n[0]) != spikes.num_spikes:
        problems.append(
            f"the synapses counted {int(counter.n[0])} spikes, the monitor {spikes.num_spikes}"
        )
    return problems


def _describe_failure(exc):
    message = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        message += f" (caused by {type(cause).__name__}: {cause})"
    return message


def self_test(duration_ms=20.0):
    """Build and run a small network on the cppyy target in this process and
    check it against the exact solution. Returns a dict: ``ok``, ``message``
    and ``phases``, one dict per phase of `SELF_TEST_PHASES` (``build``:
    objects, initial values and connect; ``first run``: a run of 0 ms, i.e.
    code generation and compilation of the run kernels; ``run``: the
    simulation) with its wall time ``seconds`` and the share of it that Cling
    spent compiling (``compile_seconds``, ``kernels_compiled``, and
    ``kernels_cached``: requests answered from the in-process cache). The
    totals over the phases are in ``seconds``, ``compile_seconds``,
    ``kernels_compiled`` and ``kernels_cached``. Leaves the user's
    preferences, default clock and magic network alone."""
    from brian2 import ms, prefs

    targets = ("codegen.target", "codegen.string_expression_target")
    saved = {key: prefs[key] for key in targets}
    result = {"ok": False, "message": ""}
    try:
        for key in targets:
            prefs[key] = "cppyy"
        phases = _Phases()
        net, group, counter, synapses, spikes = _build(phases)
        namespace = {"tau": 10 * ms}
        net.run(0 * ms, namespace=namespace)
        phases.end("first run")
        net.run(duration_ms * ms, namespace=namespace)
        phases.end("run")
        result["phases"] = phases.rows
        result.update(phases.totals())
        problems = _problems(duration_ms, group, counter, spikes)
        result["ok"] = not problems
        result["message"] = ("wrong results: " + "; ".join(problems)) if problems else (
            f"{_NEURONS} neurons, {len(synapses)} synapses and a spike monitor ran "
            f"{duration_ms:g} ms; {spikes.num_spikes} spikes at the exact times")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        result["message"] = _describe_failure(exc)
    finally:
        for key, value in saved.items():
            prefs[key] = value
    return result
