"""The catalogue of Brian2's published example scripts that brian2cppyy runs
(``tools/run_brian2_examples.py``, ``benchmarks/startup.py``): which scripts,
the edits that make long ones short (the same for every target), the ones
not run and why, and how the scripts are taken from a Brian2 clone.

The examples are not part of this repository: they are read from a clone of
brian-team/brian2 (a git directory, bare or not: its ``examples/`` tree at a
revision is extracted into a directory), or copied from a directory.
"""

import os
import subprocess
from dataclasses import dataclass, field

@dataclass
class Example:
    """An example script and how it is run: ``edits`` is a list of
    (text, replacement) substitutions of its source, each of which must
    occur, with the reason in ``why``."""

    path: str
    edits: list = field(default_factory=list)
    why: str = ""


EXAMPLES = [
    Example("CUBA.py"),
    Example("COBAHH.py", [("run(1 * second", "run(0.5 * second")], "1 s of 4000 HH neurons -> 0.5 s"),
    Example("frompapers/Brunel_Hakim_1999.py"),
    Example("synapses/STDP.py", [("run(100*second", "run(5*second")], "100 s -> 5 s"),
    Example("frompapers/Izhikevich_2003.py"),
    Example("IF_curve_Hodgkin_Huxley.py", [("duration = 2*second", "duration = 0.5*second")], "2 s -> 0.5 s"),
    Example("frompapers/Brette_Gerstner_2005.py"),
    Example("synapses/gapjunctions.py"),
    Example("synapses/jeffress.py"),
    Example("reliability.py"),
    Example("synapses/licklider.py"),
    Example("frompapers/Brunel_2000.py"),
    Example("synapses/nonlinear.py"),
    Example("compartmental/hh_with_spikes.py"),
    Example("compartmental/bipolar_with_inputs.py"),
    Example("compartmental/rall.py"),
    Example("advanced/custom_events.py"),
    Example("network_operation_stop.py"),
    Example("frompapers/Vogels_et_al_2011.py", [("simtime = 10*second", "simtime = 2*second")], "10 s -> 2 s"),
    Example("frompapers/Diesmann_et_al_1999.py"),
    Example("frompapers/Naud_et_al_2008_adex_firing_patterns.py"),
    Example("frompapers/Rothman_Manis_2003.py"),
    Example("synapses/spike_based_homeostasis.py", [("duration = 40*second", "duration = 5*second")], "40 s -> 5 s"),
    Example("frompapers/Stimberg_et_al_2018/example_1_COBA.py", [("np.in1d(", "np.isin(")],
            "numpy 2.4 has no in1d (AttributeError on every target, in the plotting after the run)"),
    Example("frompapers/Tsodyks_Pawelzik_Markram_1998.py"),
    Example("frompapers/Wang_2002.py", [("runtime = 4000 * ms", "runtime = 1000 * ms")], "4 s -> 1 s"),
    Example("advanced/Ornstein_Uhlenbeck.py", [("run(10 * second)", "run(2 * second)")], "10 s -> 2 s"),
    Example("synapses/continuous_interaction.py"),
    Example("frompapers/Sturzl_et_al_2000.py"),
    Example("frompapers/Destexhe_et_al_1998.py"),
    Example("frompapers/Stimberg_et_al_2019/example_3_bisection.py"),
    Example("frompapers/Kremer_et_al_2011_barrel_cortex.py", [("run(5*second", "run(1*second")], "5 s -> 1 s"),
    Example("frompapers/Jansen_Rit_1995_single_column.py", [("run(5*second", "run(1*second")], "5 s -> 1 s"),
    Example("adaptive_threshold.py"),
    Example("frompapers/Touboul_Brette_2008.py"),
    Example("compartmental/infinite_cable.py"),
    Example("frompapers/Tetzlaff_2015.py", [("duration = 100*lt", "duration = 4*lt")], "250 s -> 10 s"),
    Example("frompapers/Brette_2012/Fig1.py"),
    Example("frompapers/Brette_2012/Fig3AB.py"),
    Example("frompapers/Brette_2012/Fig4.py"),
    Example("frompapers/Brette_2012/Fig5A.py"),
    Example("frompapers/Maass_Natschlaeger_Markram_2002.py", [("N_PAIRS = 200", "N_PAIRS = 10")], "200 -> 10 pairs of runs"),
    Example("frompapers/Izhikevich_2007.py", [("simulation_duration = 6 * second", "simulation_duration = 2 * second")],
            "6 s -> 2 s"),
    Example("frompapers/Hindmarsh_Rose_1984.py"),
    Example("frompapers/Platkiewicz_Brette_2011.py"),
    Example("frompapers/Brette_Guigon_2003.py"),
    Example("frompapers/Rossant_et_al_2011bis.py"),
    Example("IF_curve_LIF.py"),
    Example("phase_locking.py"),
    Example("non_reliability.py"),
    Example("synapses/synapses.py"),
    Example("synapses/efficient_gaussian_connectivity.py"),
    Example("compartmental/spike_initiation.py"),
    Example("compartmental/lfp.py"),
    Example("advanced/stochastic_odes.py"),
    Example("advanced/compare_GSL_to_conventional.py", [("net.run(1 * second)", "net.run(100 * ms)")],
            "1 s -> 0.1 s per run (a loop halves dt down to 0.4 us)"),
    Example("frompapers/Nicola_Clopath_2017.py", [("T = 15*second", "T = 1*second")], "15 s -> 1 s"),
    Example("frompapers/Brette_2004.py", [("run(5*second", "run(1*second")], "2 x 5 s -> 2 x 1 s"),
    Example("frompapers/Tsodyks_Uziel_Markram_2000.py", [("duration = 4200", "duration = 1000")], "4.2 s -> 1 s"),
    Example("frompapers/Brunel_Wang_2001.py", [("net.run(4 * second", "net.run(1 * second")], "4 s -> 1 s"),
    Example("frompapers/Graupner_Brunel_2012.py", [("run(60 * second", "run(2 * second"), ("POINTS = 41", "POINTS = 5")],
            "41 x 60 s -> 5 x 2 s"),
    Example("coupled_oscillators.py", [("run(10*second)", "run(1*second)"),
                                       ("mean_dot.set_data(r*np.cos(phi), r*np.sin(phi))",
                                        "mean_dot.set_data([r*np.cos(phi)], [r*np.sin(phi)])")],
            "4 x 10 s -> 4 x 1 s; matplotlib 3.11's Line2D.set_data wants sequences "
            "(RuntimeError on every target, in the animation after the runs)"),
    Example("frompapers/Clopath_et_al_2010_homeostasis.py", [("final_t = 20.*second", "final_t = 2.*second")], "20 s -> 2 s"),
    # added in issue 15: every other example that runs on a runtime target
    Example("advanced/COBAHH_approximated.py"),
    Example("advanced/exprel_function.py"),
    Example("compartmental/bipolar_cell.py"),
    Example("compartmental/bipolar_with_inputs2.py"),
    Example("compartmental/cylinder.py"),
    Example("compartmental/hodgkin_huxley_1952.py"),
    Example("compartmental/morphotest.py"),
    Example("frompapers/Brette_2012/Fig3CF.py"),
    Example("frompapers/Clopath_et_al_2010_no_homeostasis.py"),
    Example("frompapers/Wang_Buszaki_1996.py"),
    Example("frompapers/Spreizer_et_al_2019/Spreizer_et_al_2019.py"),
    Example("multiprocessing/01_using_cython.py"),
    Example("synapses/homeostatic_stdp_at_inhibitory_synapes.py"),
    Example("synapses/spatial_connections.py"),
    Example("synapses/state_variables.py"),
    Example("frompapers/Morris_Lecar_1981.py", [("set_device('cpp_standalone')", "pass")],
            "runs on the runtime target instead of cpp_standalone"),
    *[Example(f"frompapers/Stimberg_et_al_2018/example_{name}.py",
              [("set_device('cpp_standalone', directory=None)", "pass")] + edits,
              "runs on the runtime target instead of cpp_standalone" + why)
      for name, edits, why in [
          ("2_gchi_astrocyte", [], ""),
          ("3_io_synapse", [], ""),
          ("4_rsmean", [("transient + 180*second", "transient + 15*second")], "; 195 s -> 30 s"),
          ("4_synrel", [], ""),
          ("5_astro_ring", [], ""),
          ("6_COBA_with_astro", [("duration = 8*second", "duration = 1*second")], "; 8 s -> 1 s"),
      ]],
]

#: examples of Brian2's examples/ folder that the runner does not run, and why
NOT_RUN = {
    "advanced/float_32_64_benchmark.py": "sets the target and device itself (it times numpy, cython and cpp_standalone)",
    "advanced/modelfitting_sbi.py": "needs sbi and PyTorch",
    "advanced/opencv_movie.py": "needs OpenCV and a movie downloaded from the web; cpp_standalone",
    "frompapers/Diehl_Cook_2015.py": "needs the MNIST data set and progressbar; hours of training",
    "frompapers/Stimberg_et_al_2019/example_3_bisection_standalone.py": "cpp_standalone (device.run with run_args)",
    "multiprocessing/02_using_standalone.py": "cpp_standalone",
    "multiprocessing/03_standalone_joblib.py": "cpp_standalone",
    "standalone/STDP_standalone.py": "cpp_standalone",
    "standalone/cuba_openmp.py": "cpp_standalone with OpenMP",
    "standalone/simple_case.py": "cpp_standalone",
    "standalone/simple_case_build.py": "cpp_standalone (device.build)",
    "standalone/standalone_multiple_processes.py": "cpp_standalone (one build, several processes)",
    "standalone/standalone_multiplerun.py": "cpp_standalone (device.run with run_args)",
    "frompapers/Brette_2012/params.py": "a module of parameters, not an example",
    "frompapers/Stimberg_et_al_2018/plot_utils.py": "a module of plotting helpers, not an example",
}




def uncovered(paths):
    """The paths (relative to ``examples/``) of ``paths`` that are neither run
    (`EXAMPLES`) nor listed as not run (`NOT_RUN`)."""
    known = {e.path for e in EXAMPLES} | set(NOT_RUN)
    return [p for p in paths if p.endswith(".py") and p not in known]


def select(keys=None):
    """The examples whose path contains one of ``keys`` (all if ``None``)."""
    if not keys:
        return list(EXAMPLES)
    return [e for e in EXAMPLES if any(k in e.path for k in keys)]


def prepare(example, root):
    """Applies the example's substitutions to its file under ``root``."""
    path = os.path.join(root, example.path)
    with open(path) as f:
        text = f.read()
    for old, new in example.edits:
        if old not in text:
            raise ValueError(f"{example.path}: substitution {old!r} does not occur")
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)
    return path



def extract(repo, rev, dest):
    archive = subprocess.run(["git", "--git-dir", repo, "archive", rev, "examples"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return os.path.join(dest, "examples")


def git_dir(repo):
    return repo if os.path.isdir(os.path.join(repo, "objects")) else os.path.join(repo, ".git")



def checkout(brian2_repo=None, rev="HEAD", examples_dir=None, dest=None):
    """The examples directory under ``dest``: extracted from the clone
    ``brian2_repo`` at ``rev``, or a copy of ``examples_dir``."""
    if brian2_repo:
        return extract(git_dir(brian2_repo), rev, dest)
    root = os.path.join(dest, "examples")
    subprocess.run(["cp", "-r", examples_dir, root], check=True)
    return root
