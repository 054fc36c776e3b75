"""Benchmark workloads of brian2cppyy (see docs/benchmark-protocol.md).

Each workload is a function without arguments that builds its network in a
fresh ``start_scope()`` with a fixed random seed and returns
``(network, duration)``.  The functions only *build*; the caller chooses the
target / device beforehand and times ``network.run``.

The models are written from the published model descriptions:

* ``lif_small`` -- 2 000 leaky integrate-and-fire neurons with a random
  recurrent connectivity (p = 0.1), 200 ms: few operations per time step, so
  the per-step overhead of a target dominates.
* ``coba`` -- Vogels & Abbott (2005), conductance-based version as specified
  in Brette et al. (2007), benchmark 1: 4 000 neurons (80 % excitatory),
  p = 0.02, conductance jumps of 6 nS / 67 nS relative to a 10 nS leak,
  5 ms refractoriness, SpikeMonitor, 1 s.
* ``cuba`` -- Vogels & Abbott (2005), current-based version (Brette et al.
  2007, benchmark 2): same network with current synapses, exact
  integration, SpikeMonitor and a StateMonitor on a few neurons, 1 s.
* ``cobahh`` -- Brette et al. (2007), benchmark 3: the COBA network with
  Hodgkin-Huxley-type neurons (Traub & Miles 1991 channel kinetics),
  4 000 neurons, 1 s.
* ``stdp`` -- Song, Miller & Abbott (2000): 1 000 Poisson inputs (15 Hz)
  onto one conductance-based integrate-and-fire neuron through synapses
  with additive, slightly depression-dominated STDP, 10 s.
* ``hh_expeuler`` -- Hodgkin & Huxley (1952): 500 independent squid-axon
  neurons (the original rate functions, written with ``exprel`` where they
  have a removable singularity), each driven by its own constant current,
  exponential Euler, 100 ms at dt = 0.025 ms: exp/exprel and powers
  (m**3, n**4) dominate.
* ``poly_rk4`` -- Hindmarsh & Rose (1984): 4 000 independent three-variable
  polynomial (x**3, x**2) bursting neurons with heterogeneous drive, RK4,
  500 ms at dt = 0.05 ms.
* ``fhn_euler`` -- FitzHugh (1961) / Nagumo et al. (1962): 4 000 independent
  FitzHugh-Nagumo oscillators (v**3) with heterogeneous drive, forward Euler,
  1 s at dt = 0.02 ms.
* ``long_recording`` / ``long_recording_4x`` -- a small adaptive LIF group
  (500 neurons) recorded for 100 000 resp. 400 000 steps by a StateMonitor
  (v of 3 neurons), a SpikeMonitor and a PopulationRateMonitor: the loop time
  must grow linearly with the recorded length (``report.py`` prints the
  ratio 4x / 1x per target).

Integration methods: linear models (lif_small, cuba) use ``exact``.  The
conductance-based models contain products of state variables
(``ge * (Ee - v)``), which Brian2's ``exact`` (linear) integrator rejects; they
use ``exponential_euler``, which integrates the exponentially decaying
conductances exactly and the membrane equation exactly for the conductances
frozen over one step.
"""

from brian2 import (
    Hz,
    PopulationRateMonitor,
    NeuronGroup,
    Network,
    PoissonGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    cm,
    ms,
    msiemens,
    mV,
    nA,
    second,
    seed,
    siemens,
    start_scope,
    ufarad,
    umetre,
)

#: the seed of every workload (numpy's generator and the targets' own)
SEED = 20250101


def _fresh():
    start_scope()
    seed(SEED)


def lif_small():
    """2 000 LIF neurons, recurrent synapses with p = 0.1, 200 ms."""
    _fresh()
    n = 2000
    tau = 10 * ms
    model = """
    dv/dt = (drive - v) / tau : 1 (unless refractory)
    drive : 1 (constant)
    """
    group = NeuronGroup(
        n, model, threshold="v > 1", reset="v = 0", refractory=2 * ms, method="exact",
        name="lif", namespace={"tau": tau},
    )
    group.drive = "1.05 + 0.4 * rand()"  # supra-threshold, heterogeneous
    group.v = "rand()"
    # mostly inhibitory recurrence keeps the rate moderate
    recurrent = Synapses(group, group, "w : 1", on_pre="v += w", name="lif_recurrent")
    recurrent.connect(p=0.1)
    recurrent.w = "-0.004 + 0.006 * rand()"
    spikes = SpikeMonitor(group, name="lif_spikes")
    return Network(group, recurrent, spikes), 200 * ms


def coba():
    """Vogels & Abbott (2005) COBA network, 4 000 neurons, p = 0.02, 1 s."""
    _fresh()
    tau_m = 20 * ms
    tau_exc, tau_inh = 5 * ms, 10 * ms
    E_leak, E_exc, E_inh = -60 * mV, 0 * mV, -80 * mV
    V_thr, V_reset = -50 * mV, -60 * mV
    # conductances in units of the leak conductance (10 nS)
    model = """
    dv/dt = (E_leak - v + g_exc * (E_exc - v) + g_inh * (E_inh - v)) / tau_m : volt (unless refractory)
    dg_exc/dt = -g_exc / tau_exc : 1
    dg_inh/dt = -g_inh / tau_inh : 1
    """
    cells = NeuronGroup(
        4000, model, threshold="v > V_thr", reset="v = V_reset", refractory=5 * ms,
        method="exponential_euler", name="coba",
        namespace=dict(tau_m=tau_m, tau_exc=tau_exc, tau_inh=tau_inh, E_leak=E_leak,
                       E_exc=E_exc, E_inh=E_inh, V_thr=V_thr, V_reset=V_reset),
    )
    # random initial state: membrane potentials between reset and threshold,
    # conductances around their stationary values, to start the
    # self-sustained activity
    cells.v = "V_reset + rand() * (V_thr - V_reset)"
    cells.g_exc = "clip(0.4 + 0.15 * randn(), 0, inf)"
    cells.g_inh = "clip(2.0 + 1.2 * randn(), 0, inf)"
    n_exc = 3200
    exc = Synapses(cells[:n_exc], cells, on_pre="g_exc_post += 0.6", name="coba_exc")
    inh = Synapses(cells[n_exc:], cells, on_pre="g_inh_post += 6.7", name="coba_inh")
    exc.connect(p=0.02)
    inh.connect(p=0.02)
    spikes = SpikeMonitor(cells, name="coba_spikes")
    return Network(cells, exc, inh, spikes), 1 * second


def cuba():
    """Vogels & Abbott (2005) CUBA network, 4 000 neurons, p = 0.02, 1 s,
    with a StateMonitor on a few neurons."""
    _fresh()
    tau_m, tau_exc, tau_inh = 20 * ms, 5 * ms, 10 * ms
    E_leak = -49 * mV  # effective rest, above threshold: the cells fire on their own
    V_thr, V_reset = -50 * mV, -60 * mV
    model = """
    dv/dt = (I_exc + I_inh - (v - E_leak)) / tau_m : volt (unless refractory)
    dI_exc/dt = -I_exc / tau_exc : volt
    dI_inh/dt = -I_inh / tau_inh : volt
    """
    cells = NeuronGroup(
        4000, model, threshold="v > V_thr", reset="v = V_reset", refractory=5 * ms,
        method="exact", name="cuba",
        namespace=dict(tau_m=tau_m, tau_exc=tau_exc, tau_inh=tau_inh, E_leak=E_leak,
                       V_thr=V_thr, V_reset=V_reset),
    )
    cells.v = "V_reset + rand() * (V_thr - V_reset)"
    # synaptic jumps of the published model: 0.27 mV and -4.5 mV, scaled by
    # 60/10 resp. 20/10 mV (Brette et al. 2007, benchmark 2)
    w_exc = 1.62 * mV
    w_inh = -9 * mV
    n_exc = 3200
    exc = Synapses(cells[:n_exc], cells, on_pre="I_exc_post += w_exc", name="cuba_exc",
                   namespace={"w_exc": w_exc})
    inh = Synapses(cells[n_exc:], cells, on_pre="I_inh_post += w_inh", name="cuba_inh",
                   namespace={"w_inh": w_inh})
    exc.connect(p=0.02)
    inh.connect(p=0.02)
    spikes = SpikeMonitor(cells, name="cuba_spikes")
    traces = StateMonitor(cells, ["v", "I_exc"], record=[0, 1, 2, 3, 3200, 3201],
                          name="cuba_traces")
    return Network(cells, exc, inh, spikes, traces), 1 * second


def cobahh():
    """Brette et al. (2007) benchmark 3: COBA network of Hodgkin-Huxley
    neurons (Traub & Miles kinetics), 4 000 neurons, p = 0.02, 1 s."""
    _fresh()
    area = 20000 * umetre**2
    C_m = 1 * ufarad * cm**-2 * area
    g_leak = 5e-5 * siemens * cm**-2 * area
    g_Na = 100 * msiemens * cm**-2 * area
    g_K = 30 * msiemens * cm**-2 * area
    E_leak, E_K, E_Na = -60 * mV, -90 * mV, 50 * mV
    V_T = -63 * mV  # shifts the Traub-Miles rate functions
    E_exc, E_inh = 0 * mV, -80 * mV
    tau_exc, tau_inh = 5 * ms, 10 * ms
    model = """
    dv/dt = (g_leak * (E_leak - v) + g_exc * (E_exc - v) + g_inh * (E_inh - v)
             - g_Na * m**3 * h * (v - E_Na) - g_K * n**4 * (v - E_K)) / C_m : volt
    dm/dt = alpha_m * (1 - m) - beta_m * m : 1
    dh/dt = alpha_h * (1 - h) - beta_h * h : 1
    dn/dt = alpha_n * (1 - n) - beta_n * n : 1
    dg_exc/dt = -g_exc / tau_exc : siemens
    dg_inh/dt = -g_inh / tau_inh : siemens
    u = v - V_T : volt
    alpha_m = 0.32 / mV * (13 * mV - u) / (exp((13 * mV - u) / (4 * mV)) - 1) / ms : Hz
    beta_m = 0.28 / mV * (u - 40 * mV) / (exp((u - 40 * mV) / (5 * mV)) - 1) / ms : Hz
    alpha_h = 0.128 * exp((17 * mV - u) / (18 * mV)) / ms : Hz
    beta_h = 4 / (1 + exp((40 * mV - u) / (5 * mV))) / ms : Hz
    alpha_n = 0.032 / mV * (15 * mV - u) / (exp((15 * mV - u) / (5 * mV)) - 1) / ms : Hz
    beta_n = 0.5 * exp((10 * mV - u) / (40 * mV)) / ms : Hz
    """
    cells = NeuronGroup(
        4000, model, threshold="v > -20 * mV", refractory=3 * ms,  # one spike per crossing
        method="exponential_euler", name="cobahh",
        namespace=dict(
            C_m=C_m, g_leak=g_leak, g_Na=g_Na, g_K=g_K, E_leak=E_leak, E_K=E_K,
            E_Na=E_Na, V_T=V_T, E_exc=E_exc, E_inh=E_inh, tau_exc=tau_exc,
            tau_inh=tau_inh,
        ),
    )
    cells.v = "E_leak + (randn() * 5 - 5) * mV"
    cells.g_exc = "(randn() * 1.5 + 4) * 10 * nS"
    cells.g_inh = "(randn() * 12 + 20) * 10 * nS"
    n_exc = 3200
    exc = Synapses(cells[:n_exc], cells, on_pre="g_exc_post += 6 * nS", name="cobahh_exc")
    inh = Synapses(cells[n_exc:], cells, on_pre="g_inh_post += 67 * nS", name="cobahh_inh")
    exc.connect(p=0.02)
    inh.connect(p=0.02)
    spikes = SpikeMonitor(cells, name="cobahh_spikes")
    return Network(cells, exc, inh, spikes), 1 * second


def stdp():
    """Song, Miller & Abbott (2000): 1 000 Poisson inputs onto one neuron
    through STDP synapses, 10 s."""
    _fresh()
    n_inputs = 1000
    rate = 15 * Hz
    tau_m, tau_exc = 10 * ms, 5 * ms
    E_leak, E_exc = -74 * mV, 0 * mV
    V_thr, V_reset = -54 * mV, -60 * mV
    g_max = 0.01  # peak synaptic conductance, in units of the leak conductance
    tau_plus = tau_minus = 20 * ms
    A_plus = 0.01
    A_minus = 1.05 * A_plus * tau_plus / tau_minus  # depression slightly dominates
    inputs = PoissonGroup(n_inputs, rates=rate, name="stdp_inputs")
    neuron = NeuronGroup(
        1,
        """
        dv/dt = (E_leak - v + g_exc * (E_exc - v)) / tau_m : volt
        dg_exc/dt = -g_exc / tau_exc : 1
        """,
        threshold="v > V_thr", reset="v = V_reset", method="exponential_euler",
        name="stdp_neuron",
        namespace=dict(tau_m=tau_m, tau_exc=tau_exc, E_leak=E_leak, E_exc=E_exc,
                       V_thr=V_thr, V_reset=V_reset),
    )
    neuron.v = E_leak
    plastic = Synapses(
        inputs, neuron,
        """
        w : 1
        da_ltp/dt = -a_ltp / tau_plus : 1 (event-driven)
        da_ltd/dt = -a_ltd / tau_minus : 1 (event-driven)
        """,
        on_pre="""
        g_exc_post += w
        a_ltp += A_plus * g_max
        w = clip(w - a_ltd, 0, g_max)
        """,
        on_post="""
        a_ltd += A_minus * g_max
        w = clip(w + a_ltp, 0, g_max)
        """,
        name="stdp_synapses",
        namespace=dict(tau_plus=tau_plus, tau_minus=tau_minus, A_plus=A_plus,
                       A_minus=A_minus, g_max=g_max),
    )
    plastic.connect()
    plastic.w = "rand() * g_max"
    out_spikes = SpikeMonitor(neuron, name="stdp_spikes")
    weights = StateMonitor(plastic, "w", record=[0, 1, 500, 999], dt=100 * ms,
                           name="stdp_weights")
    return Network(inputs, neuron, plastic, out_spikes, weights), 10 * second


def hh_expeuler():
    """Hodgkin & Huxley (1952) squid axon, 500 independent neurons driven by
    constant currents from 0 to 20 uA/cm^2, exponential Euler, 100 ms."""
    _fresh()
    n = 500
    # per cm^2 of membrane; membrane potential in the modern convention
    # (rest near -65 mV), rate constants at 6.3 degrees C
    model = """
    dv/dt = (I - g_Na * m**3 * h * (v - E_Na) - g_K * n**4 * (v - E_K)
             - g_L * (v - E_L)) / C_m : volt
    dm/dt = alpha_m * (1 - m) - beta_m * m : 1
    dh/dt = alpha_h * (1 - h) - beta_h * h : 1
    dn/dt = alpha_n * (1 - n) - beta_n * n : 1
    alpha_m = 1 / exprel(-(v + 40 * mV) / (10 * mV)) / ms : Hz
    beta_m = 4 * exp(-(v + 65 * mV) / (18 * mV)) / ms : Hz
    alpha_h = 0.07 * exp(-(v + 65 * mV) / (20 * mV)) / ms : Hz
    beta_h = 1 / (1 + exp(-(v + 35 * mV) / (10 * mV))) / ms : Hz
    alpha_n = 0.1 / exprel(-(v + 55 * mV) / (10 * mV)) / ms : Hz
    beta_n = 0.125 * exp(-(v + 65 * mV) / (80 * mV)) / ms : Hz
    I : amp / metre**2 (constant)
    """
    cells = NeuronGroup(
        n, model, threshold="v > -20 * mV", refractory="v > -20 * mV",
        method="exponential_euler", dt=0.025 * ms, name="hh",
        namespace=dict(
            C_m=1 * ufarad / cm**2, g_Na=120 * msiemens / cm**2,
            g_K=36 * msiemens / cm**2, g_L=0.3 * msiemens / cm**2,
            E_Na=50 * mV, E_K=-77 * mV, E_L=-54.387 * mV,
        ),
    )
    cells.v = -65 * mV
    # the steady state of the gates at rest
    cells.m, cells.h, cells.n = 0.0529, 0.5961, 0.3177
    cells.I = "20 * uA / cm**2 * i / (N - 1)"
    spikes = SpikeMonitor(cells, name="hh_spikes")
    return Network(cells, spikes), 100 * ms


def poly_rk4():
    """Hindmarsh & Rose (1984) bursting neurons, 4 000 independent cells with
    drive from 1 to 4, fourth-order Runge-Kutta, 500 ms."""
    _fresh()
    n = 4000
    # the dimensionless model with one time unit = 1 ms
    model = """
    dx/dt = (y - a * x**3 + b * x**2 - z + I) / ms : 1
    dy/dt = (c - d * x**2 - y) / ms : 1
    dz/dt = r * (s * (x - x_rest) - z) / ms : 1
    I : 1 (constant)
    """
    cells = NeuronGroup(
        n, model, threshold="x > 1", refractory="x > 1", method="rk4", dt=0.05 * ms,
        name="hindmarsh_rose",
        namespace=dict(a=1.0, b=3.0, c=1.0, d=5.0, r=0.006, s=4.0, x_rest=-1.6),
    )
    cells.I = "1 + 3.0 * i / (N - 1)"
    cells.x = "-1.6 + 0.2 * rand()"
    cells.y = "1 - 5 * x**2"
    cells.z = "4 * 0.1 * rand()"
    spikes = SpikeMonitor(cells, name="hr_spikes")
    return Network(cells, spikes), 500 * ms


def fhn_euler():
    """FitzHugh-Nagumo oscillators, 4 000 independent cells with drive from
    0.2 to 1.6, forward Euler, 1 s at dt = 0.02 ms."""
    _fresh()
    n = 4000
    # FitzHugh (1961): a = 0.7, b = 0.8, recovery 12.5 times slower
    model = """
    dv/dt = (v - v**3 / 3 - w + I) / tau : 1
    dw/dt = (v + a - b * w) / tau_w : 1
    I : 1 (constant)
    """
    cells = NeuronGroup(
        n, model, threshold="v > 1", refractory="v > 1", method="euler", dt=0.02 * ms,
        name="fhn", namespace=dict(a=0.7, b=0.8, tau=1 * ms, tau_w=12.5 * ms),
    )
    cells.I = "0.2 + 1.4 * i / (N - 1)"
    cells.v = "-1.2 + 0.4 * rand()"
    cells.w = "-0.6 + 0.2 * rand()"
    spikes = SpikeMonitor(cells, name="fhn_spikes")
    return Network(cells, spikes), 1 * second


def _long_recording(n_steps):
    """A small adaptive LIF group (500 cells) and three monitors that record
    for n_steps steps (dt = 0.1 ms): a StateMonitor of v of 3 cells, a
    SpikeMonitor and a PopulationRateMonitor."""
    _fresh()
    model = """
    dv/dt = (drive - v - w) / (10 * ms) : 1
    dw/dt = -w / (100 * ms) : 1
    drive : 1 (constant)
    """
    cells = NeuronGroup(
        500, model, threshold="v > 1", reset="v = 0; w += 0.1", method="exact",
        dt=0.1 * ms, name="long_recording",
    )
    cells.drive = "1.2 + 0.002 * i"
    cells.v = "rand()"
    traces = StateMonitor(cells, "v", record=[0, 250, 499], name="long_traces")
    spikes = SpikeMonitor(cells, name="long_spikes")
    rate = PopulationRateMonitor(cells, name="long_rate")
    return Network(cells, traces, spikes, rate), n_steps * 0.1 * ms


def long_recording():
    """Monitors recording 100 000 steps (10 s at dt = 0.1 ms)."""
    return _long_recording(100_000)


def long_recording_4x():
    """The same as ``long_recording``, 4 times longer (400 000 steps)."""
    return _long_recording(400_000)


WORKLOADS = {
    "lif_small": lif_small,
    "coba": coba,
    "cuba": cuba,
    "cobahh": cobahh,
    "stdp": stdp,
    "hh_expeuler": hh_expeuler,
    "poly_rk4": poly_rk4,
    "fhn_euler": fhn_euler,
    "long_recording": long_recording,
    "long_recording_4x": long_recording_4x,
}

__all__ = ["SEED", "WORKLOADS"] + list(WORKLOADS)
