"""tools/run_brian2_examples.py: its verdicts, and one small example script of
ours run end to end on cppyy and cython through it (the published examples
themselves are not in this repository: the tool reads them from a Brian2
clone, and takes minutes)."""

import importlib.util
import os
import textwrap

import pytest

TOOL = os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools", "run_brian2_examples.py")


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("run_brian2_examples", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(values, error=None):
    summary = {"n": len(values), "nonfinite": 0, "mean": sum(values) / len(values), "std": 0.0,
               "values": list(values)}
    return {"error": error, "runs": [{"t": 0.1, "objects": {"g": {"v": summary}}}]}


@pytest.mark.parametrize("theirs, verdict", [
    ([1.0, 2.0], "identical"),
    ([1.0, 2.0 * (1 + 1e-13)], "fp"),
    ([1.01, 1.99], "close"),
    ([1.0, 3.0], "DIFFERENT"),
])
def test_verdicts(runner, theirs, verdict):
    assert runner.compare(_record([1.0, 2.0]), _record(theirs))[0] == verdict


def test_an_error_on_one_target_only_is_reported(runner):
    verdict, details = runner.compare(_record([1.0], error="ValueError: x"), _record([1.0]))
    assert verdict == "RAISED" and details[0] == "ValueError: x"


def test_the_same_error_on_both_still_compares_the_runs(runner):
    verdict, _ = runner.compare(_record([1.0], error="E"), _record([5.0], error="E"))
    assert verdict == "both raised, DIFFERENT"


SCRIPT = """
    from brian2 import *
    G = NeuronGroup(20, 'dv/dt = (1.2 - v + I_gap) / (10*ms) : 1 (unless refractory)\\nI_gap : 1',
                    threshold='v > 1', reset='v = 0', refractory=2*ms, method='exact')
    G.v = 'rand()'
    gap = Synapses(G, G, 'w : 1 (constant)\\nI_gap_post = w*(v_pre - v_post) : 1 (summed)')
    gap.connect(p=0.3)
    gap.w = 0.02
    S = Synapses(G, G, on_pre='v_post += 0.05', delay=1*ms)
    S.connect(p=0.2)
    spikes = SpikeMonitor(G)
    trace = StateMonitor(G, 'v', record=[0, 5])

    @network_operation(dt=1*ms)
    def enough():
        if spikes.num_spikes >= 30:
            stop()

    run(50*ms)
    run(10*ms)
"""


def test_an_example_runs_alike_on_both_targets(runner, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(textwrap.dedent(SCRIPT))
    ours = runner._run_child("cppyy", str(script), timeout=300)
    ref = runner._run_child("cython", str(script), timeout=300)
    assert ours["error"] is None, ours.get("traceback")
    assert len(ours["runs"]) == 2 and {"spikemonitor", "statemonitor", "synapses"} <= set(ours["runs"][0]["objects"])
    assert 0 < ours["runs"][0]["t"] < 0.05, "the network operation did not stop the first run"
    verdict, details = runner.compare(ours, ref)
    assert verdict in ("identical", "fp"), details


def test_the_catalogue_runs_each_example_once_and_lists_the_rest(runner):
    catalogue = runner.select.__globals__
    paths = [e.path for e in catalogue["EXAMPLES"]]
    assert len(paths) == len(set(paths))
    assert not set(paths) & set(catalogue["NOT_RUN"])
    tree = ["CUBA.py", "standalone/simple_case.py", "new/unknown_example.py", "README.txt"]
    assert runner.uncovered(tree) == ["new/unknown_example.py"]
