"""A multicompartment neuron on the ``cppyy`` target: a soma with a
dendritic tree (one dendrite that branches in two) and an axon, passive
membrane plus Hodgkin–Huxley sodium and potassium channels at the soma and
along the axon. A current step at the soma fires action potentials that
travel down the axon. Writes ``examples/output/spatial_neuron.png``: the
voltage at the soma, along the axon and in a dendrite, and the voltage along
the axon over time."""

import os

import brian2cppyy  # noqa: F401  (registers the 'cppyy' target)
from brian2 import (
    Cylinder, SpatialNeuron, Soma, StateMonitor, cm, defaultclock, ms, mS, mV, nA, ohm,
    prefs, run, uF, um,
)

prefs.codegen.target = "cppyy"
defaultclock.dt = 0.01 * ms

morpho = Soma(diameter=20 * um)
morpho.dendrite = Cylinder(diameter=2 * um, length=200 * um, n=20)
morpho.dendrite.left = Cylinder(diameter=1 * um, length=100 * um, n=10)
morpho.dendrite.right = Cylinder(diameter=1 * um, length=100 * um, n=10)
morpho.axon = Cylinder(diameter=1 * um, length=1000 * um, n=100)

El, ENa, EK = -65 * mV, 50 * mV, -77 * mV
gl = 0.3 * mS / cm**2
eqs = """
Im = gl * (El - v) + gNa * m**3 * h * (ENa - v) + gK * n**4 * (EK - v) : amp/meter**2
I : amp (point current)
gNa : siemens/meter**2
gK : siemens/meter**2
dm/dt = alpham * (1-m) - betam * m : 1
dh/dt = alphah * (1-h) - betah * h : 1
dn/dt = alphan * (1-n) - betan * n : 1
alpham = (0.1/mV) * 10*mV / exprel((-v + -40*mV)/(10*mV)) / ms : Hz
betam = 4 * exp((-v - 65*mV)/(18*mV)) / ms : Hz
alphah = 0.07 * exp((-v - 65*mV)/(20*mV)) / ms : Hz
betah = 1 / (exp((-v - 35*mV)/(10*mV)) + 1) / ms : Hz
alphan = (0.01/mV) * 10*mV / exprel((-v - 55*mV)/(10*mV)) / ms : Hz
betan = 0.125 * exp((-v - 65*mV)/(80*mV)) / ms : Hz
"""
neuron = SpatialNeuron(morphology=morpho, model=eqs, Cm=1 * uF / cm**2, Ri=100 * ohm * cm,
                       method="exponential_euler")
neuron.v = El
neuron.m = 0.05
neuron.h = 0.6
neuron.n = 0.32
neuron.gNa = 0 * mS / cm**2
neuron.gK = 0 * mS / cm**2
# active channels in the soma and the axon
neuron.main.gNa = 120 * mS / cm**2
neuron.main.gK = 36 * mS / cm**2
neuron.axon.gNa = 120 * mS / cm**2
neuron.axon.gK = 36 * mS / cm**2

monitor = StateMonitor(neuron, "v", record=True)
run(5 * ms)
neuron.I[0] = 0.5 * nA
run(20 * ms)
neuron.I[0] = 0 * nA
run(10 * ms)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

axon = morpho.axon
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7))
ax1.plot(monitor.t / ms, monitor.v[0] / mV, label="soma")
for fraction in (0.25, 0.75):
    k = morpho.axon[int(fraction * 1000) * um]
    ax1.plot(monitor.t / ms, monitor[k].v / mV, label=f"axon, {int(fraction * 1000)} µm")
ax1.plot(monitor.t / ms, monitor[morpho.dendrite.left[50 * um]].v / mV,
         label="left dendrite, 50 µm")
ax1.set_xlabel("time (ms)")
ax1.set_ylabel("v (mV)")
ax1.legend(loc="upper right", fontsize=8)
ax1.set_title("SpatialNeuron on the cppyy target")
first, last = neuron.axon.indices[0], neuron.axon.indices[-1] + 1
image = ax2.imshow(monitor.v[first:last] / mV, aspect="auto", origin="lower",
                   extent=[0, float(monitor.t[-1] / ms), 0, 1000], cmap="viridis")
ax2.set_xlabel("time (ms)")
ax2.set_ylabel("distance along the axon (µm)")
fig.colorbar(image, ax=ax2, label="v (mV)")
fig.tight_layout()
out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
os.makedirs(out_dir, exist_ok=True)
path = os.path.join(out_dir, "spatial_neuron.png")
fig.savefig(path, dpi=100)
print(f"{morpho.axon.n} axon compartments; plot written to {path}")
