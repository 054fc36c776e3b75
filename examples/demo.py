"""The brian2cppyy demo: the CUBA network (Vogels & Abbott 2005, 4 000
integrate-and-fire neurons with current-based synapses) on the ``cppyy``
target. Prints how long each phase took and writes a raster plot to
``examples/output/demo_raster.png``."""

import os
import time

t_start = time.perf_counter()
import brian2cppyy  # noqa: E402  (registers the 'cppyy' target)
from brian2 import (  # noqa: E402
    NeuronGroup, Network, PopulationRateMonitor, SpikeMonitor, Synapses, ms, mV, prefs, seed,
)

t_import = time.perf_counter()
prefs.codegen.target = "cppyy"
seed(2025)

taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
eqs = """
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
"""
P = NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                method="exact")
P.v = "Vr + rand() * (Vt - Vr)"
P.ge = P.gi = 0 * mV
we = (60 * 0.27 / 10) * mV
wi = (-20 * 4.5 / 10) * mV
Ce = Synapses(P[:3200], P, on_pre="ge += we")
Ci = Synapses(P[3200:], P, on_pre="gi += wi")
Ce.connect(p=0.02)
Ci.connect(p=0.02)
spikes = SpikeMonitor(P)
rate = PopulationRateMonitor(P)
net = Network(P, Ce, Ci, spikes, rate)
t_build = time.perf_counter()

net.run(0 * ms)
t_first = time.perf_counter()
net.run(1000 * ms)
t_loop = time.perf_counter()

stats = brian2cppyy.stats()
print("brian2cppyy demo: CUBA, 4000 neurons, 1 s of biological time")
print(f"  import          {t_import - t_start:7.3f} s")
print(f"  build           {t_build - t_import:7.3f} s  ({len(Ce) + len(Ci)} synapses)")
print(f"  first run (JIT) {t_first - t_build:7.3f} s  "
      f"({stats['compiled']} kernels compiled in {stats['compile_seconds']:.3f} s)")
print(f"  simulation loop {t_loop - t_first:7.3f} s")
print(f"  {spikes.num_spikes} spikes, mean rate "
      f"{spikes.num_spikes / 4000 / 1.0:.1f} Hz")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
os.makedirs(out_dir, exist_ok=True)
fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(8, 6),
                               gridspec_kw={"height_ratios": [3, 1]})
ax1.plot(spikes.t / ms, spikes.i, ",k")
ax1.set_ylabel("neuron index")
ax1.set_title("CUBA network on the cppyy target")
ax2.plot(rate.t / ms, rate.smooth_rate(width=5 * ms) / (1 / 1000 / ms), "k")
ax2.set_xlabel("time (ms)")
ax2.set_ylabel("rate (Hz)")
fig.tight_layout()
path = os.path.join(out_dir, "demo_raster.png")
fig.savefig(path, dpi=100)
print(f"  raster plot written to {path}")
