"""Kernels vectorise where gcc's do: the state update of math-heavy models
becomes SIMD code without calls (machine_code.py reads the kernels back).

What blocked it before: libm calls (exp, pow, sin, ...) and Brian2's
``static inline`` support functions, which Cling never inlines."""

import pytest
from brian2 import Network, NeuronGroup, ms, run

from brian2cppyy.diagnostics import machine_code


pytestmark = pytest.mark.skipif(
    not (machine_code.available() and machine_code.has_avx2()),
    reason="reads x86-64 AVX2 machine code with objdump",
)

HODGKIN_HUXLEY = """
dv/dt = (gl*(El - v) - g_na*m**3*h*(v - ENa) - g_kd*n**4*(v - EK) + I) / Cm : volt
dm/dt = 0.32*(mV**-1)*4*mV/exprel((13.*mV - v + VT)/(4*mV))/ms*(1 - m)
        - 0.28*(mV**-1)*5*mV/exprel((v - VT - 40.*mV)/(5*mV))/ms*m : 1
dn/dt = 0.032*(mV**-1)*5*mV/exprel((15.*mV - v + VT)/(5*mV))/ms*(1. - n)
        - .5*exp((10.*mV - v + VT)/(40.*mV))/ms*n : 1
dh/dt = 0.128*exp((17.*mV - v + VT)/(18.*mV))/ms*(1. - h)
        - 4./(1 + exp((40.*mV - v + VT)/(5.*mV)))/ms*h : 1
I : amp
"""


def _namespace():
    from brian2 import farad, mV, siemens, volt

    return {
        "Cm": 200e-12 * farad, "gl": 10e-9 * siemens, "El": -65e-3 * volt,
        "EK": -90e-3 * volt, "ENa": 50e-3 * volt, "g_na": 20e-6 * siemens,
        "g_kd": 6e-6 * siemens, "VT": -63e-3 * volt, "mV": mV,
    }


def _state_update_code(group):
    (updater,) = [o for o in group.contained_objects if o.name.endswith("stateupdater")]
    return machine_code.kernel_code(updater.codeobj)


def _dispatch_calls(refractory):
    """The calls of a state-update kernel whose loop computes next to nothing:
    those of the code around the loop (the thread pool's dispatch, timing)."""
    equations = "dv/dt = -v / (10*ms) : 1" + (" (unless refractory)" if refractory else "")
    group = NeuronGroup(64, equations, threshold="v > 2", reset="v = 0",
                        refractory=1 * ms if refractory else False, method="euler")
    Network(group).run(0.1 * ms)
    return len(_state_update_code(group).calls)


def _assert_state_update_vectorised(group, refractory=False):
    """The group's state-update kernel computes on 256-bit registers and calls
    nothing more than a kernel whose loop computes next to nothing (a maths
    function not inlined is a call in the loop, and keeps the loop scalar)."""
    code = _state_update_code(group)
    assert len(code.calls) <= _dispatch_calls(refractory), code.calls
    assert code.vectorised, code.opcodes.most_common(10)


@pytest.mark.parametrize("method", ["exponential_euler", "rk4"])
def test_hodgkin_huxley_state_update_is_vectorised(method):
    group = NeuronGroup(64, HODGKIN_HUXLEY, method=method, namespace=_namespace(), name="hh")
    group.v = "El"
    run(0.1 * ms)
    _assert_state_update_vectorised(group)


def test_maths_functions_and_refractoriness_are_vectorised():
    group = NeuronGroup(
        64,
        """dv/dt = (sqrt(abs(v)) - tanh(v) + log1p(v**2) + log(1 + v**2) + expm1(-v**2)
                    + exp(-v) - v) / (10*ms) : 1 (unless refractory)""",
        threshold="v > 2", reset="v = 0", refractory=1 * ms, method="euler", name="maths",
    )
    group.v = "i / 64.0"
    run(0.1 * ms)
    _assert_state_update_vectorised(group, refractory=True)


def test_sin_and_cos_state_update_is_vectorised():
    """vmath::sin/cos read a table (Payne-Hanek reduction) at a data-dependent
    index. The loop vectoriser needs to know that this read cannot alias the
    state arrays the loop writes; the template's __restrict pointers tell it
    only as parameters (of the lambda the state update loop runs in)."""
    from brian2 import Hz, pi

    group = NeuronGroup(
        64, "dv/dt = (sin(2*pi*f*t + v) + cos(v) - v) / (10*ms) : 1",
        method="euler", namespace={"f": 100 * Hz, "pi": pi, "ms": ms}, name="trig",
    )
    group.v = "i / 64.0"
    run(0.1 * ms)
    _assert_state_update_vectorised(group, refractory=True)
