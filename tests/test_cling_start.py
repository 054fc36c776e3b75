"""Cling's start through cppyy's C API (`cling.runtime`): in the background
from the first model object on, without cppyy's Python module, and with its
failures reported."""

import os
import subprocess
import sys
import textwrap

import pytest


def _run_python(code, timeout=300):
    """Run ``code`` in a fresh interpreter; return the completed process."""
    env = dict(os.environ)
    env.pop("EXTRA_CLING_ARGS", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_a_network_runs_without_cppyys_python_module_and_cling_starts_with_the_model():
    proc = _run_python(
        """
        import sys
        import brian2cppyy
        from brian2 import *
        from brian2cppyy.cling import compile_thread, runtime
        prefs.codegen.target = 'cppyy'
        G = NeuronGroup(20, 'dv/dt = (1.5 - v) / (10*ms) : 1', threshold='v > 1',
                        reset='v = 0', method='exact')
        compile_thread.wait_idle()
        print('started with the group:', runtime.started())
        S = Synapses(G, G, 'w : 1', on_pre='v += w')
        S.connect(p=0.5)
        S.w = 'rand() * 0.1'
        M = SpikeMonitor(G)
        run(20*ms)
        print('spikes:', M.num_spikes > 0)
        print('cppyy imported:', 'cppyy' in sys.modules)
        info = runtime.info()
        print('info:', info['cplusplus'] >= 201703, bool(info['clang']))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == [
        "started with the group: True", "spikes: True", "cppyy imported: False",
        "info: True True"]


def test_a_runtime_header_that_does_not_compile_is_reported_at_every_compilation():
    """A broken installation (here: a runtime header that does not exist)
    raises `ClingStartError` with Cling's words, at the run and again at the
    next one; the process goes on."""
    proc = _run_python(
        """
        import brian2cppyy
        from brian2 import *
        from brian2cppyy.cling import runtime
        runtime._RUNTIME_HEADERS = (("brian2cppyy/no_such_header.hpp", None),)
        prefs.codegen.target = 'cppyy'
        for attempt in range(2):
            G = NeuronGroup(2, 'dv/dt = -v / (10*ms) : 1')
            try:
                run(1*ms)
            except Exception as exc:
                cause = exc
                while cause.__cause__ is not None and not isinstance(
                        cause, runtime.ClingStartError):
                    cause = cause.__cause__
                print(type(cause).__name__, 'no_such_header.hpp' in str(cause),
                      "file not found" in str(cause))
        print('alive')
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["ClingStartError True True"] * 2 + ["alive"]


def test_units_compiled_after_the_start_get_optimised_machine_code():
    """Cling generates machine code at -O0 for every unit once it has run
    code of a unit compiled at -O0; the start must not do so (the runtime's
    -O0 header has no static initialiser). Seen through FMA contraction,
    which only optimised code generation does: under flush-to-zero,
    ``a * g + g`` with a denormal product keeps ``g`` unless fused."""
    proc = _run_python(
        """
        import brian2cppyy
        from brian2cppyy.cling import runtime
        runtime.ready()
        (has_fma,) = runtime.read_values(
            ["[] {\\n#ifdef __FMA__\\nreturn 1;\\n#else\\nreturn 0;\\n#endif\\n}()"])
        with runtime.lock:
            compiled, _ = runtime.declare(
                "#pragma cling optimize(3)\\n#pragma float_control(push)\\n"
                "#pragma float_control(precise, off)\\n"
                "namespace fma_probe { double f(double a, double g) { return (a * g) + g; } }\\n"
                "#pragma float_control(pop)\\n")
        (fused,) = runtime.read_values([
            "[] { unsigned csr = __builtin_ia32_stmxcsr(); __builtin_ia32_ldmxcsr(csr | (1 << 15));"
            " volatile double a = -0.1, g = 2.1e-307; const double r = fma_probe::f(a, g);"
            " __builtin_ia32_ldmxcsr(csr); return r != 2.1e-307; }()"])
        print(has_fma, compiled, fused)
        """
    )
    assert proc.returncode == 0, proc.stderr
    has_fma, compiled, fused = proc.stdout.split()
    if has_fma == "0":
        pytest.skip("this CPU has no FMA instructions (-march=native)")
    assert (compiled, fused) == ("True", "1")
