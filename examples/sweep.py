"""A parameter sweep with ``brian2cppyy.sweep``: the sparsely connected network
of excitatory and inhibitory integrate-and-fire neurons of Brunel (2000),
scanned over its two parameters - g, the relative strength of inhibition, and
eta = nu_ext / nu_thr, the external drive relative to the drive that brings a
neuron to threshold - with two trials per point. Writes a heat map of the mean
firing rate and of the synchrony of the population activity over the grid to
``examples/output/sweep_brunel.png``; finished runs are kept in
``examples/output/sweep_store`` (run it again: nothing is recomputed).

The network is scaled down (2 500 neurons, C_E = 200) so that the 24 runs take
about a minute on 2 idle cores. To run the same sweep on a cluster, pass a client:
``sweep(brunel, grid, client="tcp://scheduler:8786")`` (see the README).

Brunel N (2000). Dynamics of sparsely connected networks of excitatory and
inhibitory spiking neurons. J Comput Neurosci 8:183-208.
"""

import os

import numpy as np

import brian2cppyy

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")


def brunel(g, eta):
    """One run of the (scaled) Brunel network for 250 ms; the first 50 ms are
    discarded as a transient."""
    from brian2 import (Hz, NeuronGroup, PoissonInput, PopulationRateMonitor, SpikeMonitor,
                        Synapses, ms, mV, run, start_scope)

    start_scope()
    n_e, n_i = 2000, 500
    c_e = 200  # excitatory inputs per neuron (epsilon = 0.1)
    tau, theta, v_r, J = 20 * ms, 20 * mV, 10 * mV, 0.1 * mV
    nu_thr = theta / (J * c_e * tau)
    neurons = NeuronGroup(n_e + n_i, "dv/dt = -v/tau : volt (unless refractory)",
                          threshold="v > theta", reset="v = v_r", refractory=2 * ms,
                          method="exact")
    excitatory = Synapses(neurons[:n_e], neurons, on_pre="v_post += J", delay=1.5 * ms)
    inhibitory = Synapses(neurons[n_e:], neurons, on_pre="v_post += -g*J", delay=1.5 * ms)
    excitatory.connect(p=c_e / n_e)
    inhibitory.connect(p=c_e / n_e)
    external = PoissonInput(neurons, "v", N=c_e, rate=eta * nu_thr, weight=J)
    spikes = SpikeMonitor(neurons)
    population = PopulationRateMonitor(neurons)
    run(250 * ms, namespace={"tau": tau, "theta": theta, "v_r": v_r, "J": J, "g": g})
    rate = np.asarray(population.rate / Hz)[500:]  # after the 50 ms transient (dt = 0.1 ms)
    bins = rate.reshape(-1, 10).mean(axis=1)  # 1 ms bins
    # synchrony: the variance of the population rate in 1 ms bins, relative to
    # that of independent Poisson neurons with the same mean rate (about 1)
    n = n_e + n_i
    synchrony = float(bins.var() * n * 1e-3 / bins.mean()) if bins.mean() > 0 else 0.0
    return {"rate_hz": float(bins.mean()), "synchrony": synchrony,
            "population_rate_hz": bins, "spikes": int(spikes.num_spikes)}


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = {"g": [3.0, 4.0, 5.0, 6.0], "eta": [0.9, 2.0, 4.0]}
    os.makedirs(OUTPUT, exist_ok=True)
    result = brian2cppyy.sweep(brunel, grid, repeats=2, seed=2000,
                               store=os.path.join(OUTPUT, "sweep_store"))
    print(result.table[["g", "eta", "repeat", "status", "rate_hz", "synchrony", "wall_s",
                        "from_store"]].to_string(index=False))
    dataset = result.to_xarray().mean("repeat")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name, label in ((axes[0], "rate_hz", "mean firing rate (Hz)"),
                            (axes[1], "synchrony", "synchrony (variance / Poisson)")):
        values = dataset[name].transpose("eta", "g").values
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis",
                          norm=matplotlib.colors.LogNorm() if name == "synchrony" else None)
        ax.set_xticks(range(len(grid["g"])), grid["g"])
        ax.set_yticks(range(len(grid["eta"])), grid["eta"])
        ax.set_xlabel("g (relative inhibition)")
        ax.set_ylabel("eta = nu_ext / nu_thr")
        fig.colorbar(image, ax=ax, label=label)
    fig.suptitle("Brunel (2000) network, 2 500 neurons, mean of 2 trials per point")
    fig.tight_layout()
    path = os.path.join(OUTPUT, "sweep_brunel.png")
    fig.savefig(path, dpi=110)
    print(f"written: {path}")


if __name__ == "__main__":  # required: the cluster's worker processes import this file
    main()
