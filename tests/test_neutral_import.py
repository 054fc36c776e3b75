"""Importing brian2cppyy leaves Brian2's other targets as Brian2 wrote them:
runs on ``numpy`` and ``cython`` execute none of our code (only the look-up of
the hooks' attributes, `brian2_hooks.TargetDispatch`), give the same results,
and Brian2's registries and preferences are Brian2's.

Each case runs in a fresh interpreter, once with and once without the import.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "import":
        import brian2cppyy
    import numpy as np
    from brian2 import *
    from brian2.devices.device import all_devices
    from brian2.stateupdaters.base import StateUpdateMethod

    prefs.codegen.runtime.cython.cache_dir = sys.argv[3]
    ours = "brian2cppyy" + __import__("os").sep
    called = set()      # our functions called during the runs
    on_stack = set()    # our frames on the stack while a NetworkOperation runs

    def profile(frame, event, arg):
        if event == "call" and ours in frame.f_code.co_filename:
            called.add(frame.f_code.co_qualname)

    def simulate(target):
        start_scope()
        prefs.codegen.target = target
        seed(7)
        G = NeuronGroup(20, 'dv/dt = (1.2 - v)/(10*ms) + 0.2*xi/sqrt(ms) : 1',
                        threshold='v > 1', reset='v = 0', method='euler')
        G.v = 'rand()'
        S = Synapses(G, G, 'w : 1', on_pre='v += w')
        S.connect(p=0.3)
        S.w = 'rand() * 0.1'
        M = SpikeMonitor(G)

        @network_operation(dt=1*ms)
        def look():
            frame = sys._getframe()
            while frame is not None:
                if ours in frame.f_code.co_filename:
                    on_stack.add(frame.f_code.co_qualname)
                frame = frame.f_back

        sys.setprofile(profile)
        try:
            run(5*ms)
        finally:
            sys.setprofile(None)
        return [M.i[:].tolist(), M.t_[:].tolist(), G.v[:].tolist()]

    results = {target: simulate(target) for target in sys.argv[2].split(",")}
    prefs_seen = {k: repr(v) for k, v in prefs.items() if not k.startswith("codegen.runtime.cppyy")}
    print(json.dumps({
        "results": results,
        "called": sorted(called),
        "on_stack": sorted(on_stack),
        "stateupdaters": {k: type(v).__module__ + "." + type(v).__qualname__
                          for k, v in StateUpdateMethod.stateupdaters.items()},
        "devices": {k: type(v).__qualname__ for k, v in all_devices.items()},
        "prefs": prefs_seen,
    }))
    """
)


def _run(mode, targets, cache):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, mode, targets, str(cache)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cython-cache")
    targets = "numpy,cython"
    return _run("import", targets, cache), _run("no-import", targets, cache)


def test_other_targets_run_none_of_our_code(runs):
    with_import, _ = runs
    assert with_import["on_stack"] == []
    # only the look-up of Brian2's hooked attributes, which returns Brian2's own
    assert set(with_import["called"]) <= {"TargetDispatch.__get__", "target_is_cppyy"}


def test_other_targets_give_brians_results(runs):
    with_import, without = runs
    assert with_import["results"] == without["results"]
    assert with_import["results"]["numpy"][0], "the model spikes"


def test_brians_registries_and_preferences_are_unchanged(runs):
    with_import, without = runs
    assert with_import["stateupdaters"] == without["stateupdaters"]
    assert with_import["devices"] == without["devices"]
    assert with_import["prefs"] == without["prefs"]
