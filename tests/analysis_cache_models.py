"""Child process of tests/test_analysis_cache.py: generate the code of many
models with the cppyy target and print what was generated, as JSON.

    python analysis_cache_models.py CACHE_DIR on|off [--all]

Runs Brian2's state-updater tests (``brian2/tests/test_stateupdaters.py``,
those without fixtures; without ``--all`` not
``test_check_for_invalid_values_linear_integrator``, which spends a minute
and a half in sympy) and builds and prepares (``run(0*ms)``) our benchmark
workloads (``benchmarks/workloads.py``). Prints one JSON line: the source of
every code object created (name, template, code of each block) in order, the
outcome of every ``StateUpdateMethod.apply_stateupdater`` call (abstract code
or exception), the names of Brian2 tests that failed, and
``brian2cppyy.analysis_cache.info()``.
"""

import gc
import inspect
import json
from collections.abc import Mapping
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _recorders(codeobjects, derivations):
    """Record every code object (runtime device) and state-update outcome."""
    from brian2.devices.device import all_devices
    from brian2.stateupdaters.base import StateUpdateMethod

    device = all_devices["runtime"]
    create = device.code_object

    def code_object(*args, **kwds):
        codeobj = create(*args, **kwds)
        code = codeobj.code
        blocks = dict(sorted(code.items())) if isinstance(code, Mapping) else str(code)
        codeobjects.append([codeobj.name, codeobj.template_name, blocks])
        return codeobj

    device.code_object = code_object
    # the class attribute as installed (brian2cppyy's, on the cppyy target),
    # looked up at each call as Brian2's callers look it up
    installed = StateUpdateMethod.__dict__["apply_stateupdater"]

    def apply_stateupdater(*args, **kwds):
        try:
            result = installed.__get__(None, StateUpdateMethod)(*args, **kwds)
        except Exception as exc:
            derivations.append(["error", type(exc).__name__, str(exc)])
            raise
        derivations.append(["code", result if isinstance(result, str) else repr(type(result))])
        return result

    StateUpdateMethod.apply_stateupdater = staticmethod(apply_stateupdater)


#: minutes of sympy without the cache (``exact`` without simplification)
SLOW_TESTS = {"test_check_for_invalid_values_linear_integrator"}


def _brian2_stateupdater_tests(everything):
    """The tests of brian2/tests/test_stateupdaters.py that take no fixture."""
    from brian2.tests import test_stateupdaters

    for name, test in sorted(vars(test_stateupdaters).items()):
        if not name.startswith("test_") or inspect.signature(test).parameters:
            continue
        if everything or name not in SLOW_TESTS:
            yield name, test


def _run_everything(failures, everything):
    """Brian2 names an object after the first free name (``neurongroup_5``)
    among the objects still alive, and array names follow: with Python's
    automatic garbage collection, when it runs (the cache changes how much
    is allocated) would decide the names in the generated code. It runs
    only between the models here."""
    from brian2 import ms, prefs, start_scope

    gc.disable()
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "benchmarks"))
    from workloads import WORKLOADS

    for name, test in _brian2_stateupdater_tests(everything):
        gc.collect()
        start_scope()
        prefs.codegen.target = "cppyy"
        try:
            test()
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    for name, build in WORKLOADS.items():
        if name.startswith("long_recording"):
            continue  # the same model as another workload, longer
        gc.collect()
        prefs.codegen.target = "cppyy"
        net, _ = build()
        net.run(0 * ms)


def main(cache_dir, switch, everything=""):
    import brian2cppyy
    from brian2 import prefs
    from brian2cppyy import analysis_cache

    prefs.codegen.runtime.cppyy.cache_dir = cache_dir
    prefs.codegen.runtime.cppyy.analysis_cache = switch == "on"
    prefs.logging.warn_for_unused_objects = False
    codeobjects, derivations, failures = [], [], []
    _recorders(codeobjects, derivations)
    _run_everything(failures, everything == "--all")
    report = {"codeobjects": codeobjects, "derivations": derivations, "failures": failures,
              "info": analysis_cache.info(), "package": brian2cppyy.__file__}
    print("ANALYSIS_CACHE_MODELS " + json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
