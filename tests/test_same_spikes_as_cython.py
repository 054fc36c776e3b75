"""Kernels compiled with fast-math and our own maths functions give the same
spike trains as the cython target (gcc, -ffast-math, libm) for the same seed,
on models that are not chaotic: a last-bit difference in a state variable
does not move a spike there. Integrators and functions of the benchmark
models: exact integration with refractoriness and Poisson input, exponential
Euler with exp/exprel and integer powers (Hodgkin-Huxley), RK4 with v**3."""

import numpy as np
from brian2 import (
    Network,
    Hz,
    NeuronGroup,
    PoissonInput,
    SpikeMonitor,
    farad,
    ms,
    mV,
    prefs,
    seed,
    siemens,
    volt,
)

HH = """
dv/dt = (gl*(El - v) - g_na*m**3*h*(v - ENa) - g_k*n**4*(v - EK) + I) / Cm : volt
dm/dt = alpha_m*(1 - m) - beta_m*m : 1
dn/dt = alpha_n*(1 - n) - beta_n*n : 1
dh/dt = alpha_h*(1 - h) - beta_h*h : 1
alpha_m = 0.1/mV*10*mV/exprel(-(v + 40*mV)/(10*mV))/ms : Hz
beta_m = 4*exp(-(v + 65*mV)/(18*mV))/ms : Hz
alpha_h = 0.07*exp(-(v + 65*mV)/(20*mV))/ms : Hz
beta_h = 1/(exp(-(v + 35*mV)/(10*mV)) + 1)/ms : Hz
alpha_n = 0.01/mV*10*mV/exprel(-(v + 55*mV)/(10*mV))/ms : Hz
beta_n = 0.125*exp(-(v + 65*mV)/(80*mV))/ms : Hz
I : amp
"""
# Hodgkin & Huxley (1952) per cm^2, for a patch of 1e-3 cm^2
HH_NAMESPACE = {
    "Cm": 1e-9 * farad, "gl": 3e-7 * siemens, "El": -54.4e-3 * volt,
    "g_na": 1.2e-4 * siemens, "ENa": 50e-3 * volt, "g_k": 3.6e-5 * siemens,
    "EK": -77e-3 * volt,
}


def _spike_trains():
    seed(4321)
    lif = NeuronGroup(
        50, "dv/dt = (1.1 - v) / (10*ms) : 1 (unless refractory)",
        threshold="v > 1", reset="v = 0", refractory=2 * ms, method="exact", name="lif",
    )
    lif.v = "rand()"
    poisson = PoissonInput(lif, "v", 20, 50 * Hz, 0.02)
    hh = NeuronGroup(
        20, HH, threshold="v > -20*mV", refractory="v > -20*mV", method="exponential_euler",
        namespace=HH_NAMESPACE, name="hh",
    )
    hh.v = -65 * mV
    hh.I = "(7 + 0.5*i) * nA"  # 7-16.5 uA/cm^2: repetitive firing
    poly = NeuronGroup(
        20,
        """dv/dt = (v - v**3/3 - w + I) / (1*ms) : 1
           dw/dt = 0.08*(v + 0.7 - 0.8*w) / (1*ms) : 1
           I : 1 (constant)""",
        threshold="v > 1", refractory="v > 1", method="rk4", name="poly",
    )
    poly.v = -1.2
    poly.I = "0.3 + 0.03*i"
    monitors = [SpikeMonitor(g) for g in (lif, hh, poly)]
    net = Network(lif, poisson, hh, poly, *monitors)
    net.run(100 * ms)
    return [(m.i[:].copy(), m.t_[:].copy()) for m in monitors]


def test_spike_trains_equal_cythons(with_target):
    ours = _spike_trains()
    prefs.codegen.runtime.cython.multiprocess_safe = False
    theirs = with_target("cython", _spike_trains)
    for (i, t), (i_ref, t_ref), name in zip(ours, theirs, ["lif", "hh", "poly"]):
        assert len(t_ref) > 20, f"{name}: too few spikes to compare"
        np.testing.assert_array_equal(i, i_ref, err_msg=name)
        np.testing.assert_array_equal(t, t_ref, err_msg=name)
