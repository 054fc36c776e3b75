"""The code generator emits the kernels' declarations and the templates place
them: the rendered template is the kernel's source, the code object fills the
slots the declarations read, the random lock is where random numbers are
drawn, and the preprocessor lines of functions' code stay in their unit."""

import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    PoissonGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    TimedArray,
    check_units,
    implementation,
    ms,
    prefs,
    run,
)

from brian2cppyy.target import random_buffers


def _code_objects(net):
    """The code objects of a network that ran."""
    return [codeobj for obj in net.sorted_objects for codeobj in obj._code_objects]


def _network():
    stimulus = TimedArray(np.array([0.5, 1.5, 1.0]), dt=0.1 * ms)
    G = NeuronGroup(
        5, "dv/dt = (stimulus(t) - v + 0.1*rand())/(2*ms) : 1",
        threshold="v > 0.8", reset="v = 0", method="euler", name="declared_group",
        namespace={"stimulus": stimulus},
    )
    G.v = "0.75 + 0.02*i"
    H = NeuronGroup(3, "dw/dt = -w/(5*ms) : 1", method="exact", name="declared_quiet")
    S = Synapses(G, H, "c : 1", on_pre="w += c", name="declared_synapses")
    S.connect(p=0.8)
    S.c = "rand()"
    P = PoissonGroup(4, 200 / ms * 0.01, name="declared_poisson")
    M = StateMonitor(G, "v", record=[0, 4], name="declared_monitor")
    N = SpikeMonitor(G, name="declared_spikes")
    return Network(G, H, S, P, M, N), (G, H, S, P, M, N)


def test_the_rendered_template_is_the_kernels_source(tmp_path):
    prefs.codegen.runtime.cppyy.dump_dir = str(tmp_path)
    G = NeuronGroup(3, "dv/dt = -v/(2.71828*ms) : 1", method="exact", name="rendered_group")
    G.v = 1
    run(0.2 * ms)
    codeobj = G.state_updater.codeobj
    compiled = (tmp_path / f"{codeobj.name}_run.cpp").read_text()
    assert codeobj.code.run.strip() in compiled
    assert "_slots[" in codeobj.code.run  # the declarations are in the template's output


def test_the_code_object_fills_the_slots_the_generator_declared():
    net, (G, H, S, P, M, N) = _network()
    net.run(0.5 * ms)
    code_objects = _code_objects(net)
    assert len(code_objects) >= 8
    for codeobj in code_objects:
        source = codeobj.code.run
        position = 0
        for line in codeobj.argument_layout().lines:
            found = source.find(line, position)
            assert found >= 0, f"{codeobj.name}: '{line}' is not declared in its order"
            position = found + len(line)
    assert N.num_spikes > 0 and M.v.shape == (2, 5)


def test_random_lock_only_where_random_numbers_are_drawn():
    net, (G, H, S, P, M, N) = _network()
    net.run(0.2 * ms)
    locked = {
        codeobj.name for codeobj in _code_objects(net)
        if random_buffers.RANDOM_LOCK in codeobj.code.run
    }
    assert G.state_updater.codeobj.name in locked  # rand() in the equations
    assert P.thresholder["spike"].codeobj.name in locked  # rand() in PoissonGroup's threshold
    assert H.state_updater.codeobj.name not in locked
    assert G.thresholder["spike"].codeobj.name not in locked
    assert S.pre.codeobj.name not in locked


def test_a_function_drawing_through_a_dependency_takes_the_lock():
    G = NeuronGroup(20, "k : integer", name="poisson_draws")
    G.run_regularly("k = poisson(3.0)", dt=0.1 * ms, name="poisson_draws_regularly")
    run(0.3 * ms)
    assert random_buffers.RANDOM_LOCK in G.contained_objects[-1].codeobj.code.run
    assert np.all(G.k[:] >= 0) and np.any(G.k[:] > 0)


def test_includes_and_macros_of_a_users_function_stay_in_their_unit():
    @implementation("cpp", """
    #include <math.h>
    #define decl_scale 3.0
    inline double decl_tripled(double x) { return decl_scale * fabs(x); }
    """)
    @check_units(x=1, result=1)
    def decl_tripled(x):
        return 3.0 * abs(x)

    G = NeuronGroup(4, "y : 1", name="macro_user")
    G.y = "decl_tripled(-i)"
    np.testing.assert_array_equal(G.y[:], 3.0 * np.arange(4))
    # a later unit with an identifier of the macro's name: it compiles only
    # if the macro was undefined after the first unit
    decl_scale = 0.5  # noqa: F841
    H = NeuronGroup(4, "z : 1", name="macro_free")
    H.z = "decl_scale * i"
    np.testing.assert_array_equal(H.z[:], 0.5 * np.arange(4))
