"""Dynamic-array growth compiled once per element type (runtime_support.py):
the kernels call the compiled overloads, types without them still work
through the generic templates, and the synapses and monitors built on them
hold what they should."""

import cppyy
import numpy as np
from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses, ms, run

from brian2cppyy.cling import runtime, compiler_settings, runtime_support


def test_kernels_get_the_overloads_of_their_element_types():
    group = NeuronGroup(4, "dv/dt = 1/ms : 1\nk : integer", threshold="v > 1", reset="v = 0",
                        method="euler")
    synapses = Synapses(group, group, "w : 1", on_pre="v += w")
    synapses.connect(j="i")
    synapses.w = "0.5 + i"
    spikes = SpikeMonitor(group)
    states = StateMonitor(group, ["v", "k"], record=[0, 2])
    run(2.5 * ms)
    compiled = runtime_support._compiled
    # i (int32) and t (double) of the spike monitor, the synapses' indices,
    # the state monitor's rows of v (double) and k (int32)
    for kind in [("int32_t", 1), ("double", 1), ("double", 2), ("int32_t", 2)]:
        assert kind in compiled, kind
    np.testing.assert_array_equal(synapses.i[:], [0, 1, 2, 3])
    np.testing.assert_array_equal(synapses.w[:], [0.5, 1.5, 2.5, 3.5])
    assert spikes.num_spikes == 8 and np.all(np.asarray(spikes.i).reshape(2, 4) == np.arange(4))
    assert states.v.shape == (2, 25) and states.k.shape == (2, 25)


def test_array_kinds_are_read_from_the_code_objects_variables():
    group = NeuronGroup(3, "v : 1")
    monitor = StateMonitor(group, "v", record=True)
    run(0.1 * ms)
    assert runtime_support.array_kinds(monitor.codeobj.variables) == {("double", 1),
                                                                      ("double", 2)}


def test_overloads_are_plain_functions_at_the_kernels_level():
    settings = compiler_settings.current()
    source = runtime_support.overloads_source([("float", 1), ("int8_t", 2)], settings)
    assert "float* append(DynamicArray1D<float>* array, size_t count)" in source
    assert "void resize(DynamicArray1D<float>* array, size_t size)" in source
    assert "int8_t* append_row(DynamicArray2D<int8_t>* array)" in source
    assert "append_row(DynamicArray2D<float>" not in source
    assert "template" not in source
    assert f"optimize({settings.level})" in source


def test_types_without_overloads_grow_through_the_generic_templates():
    runtime.start()
    assert ("int16_t", 1) not in runtime_support._compiled
    cppyy.cppdef("""
    #include "brian2cppyy/monitor_arrays.hpp"
    namespace b2c_test_generic {
    long grow() {
        DynamicArray1D<int16_t> array;
        brian2cppyy::monitor_arrays::append(&array, 5)[4] = 7;
        brian2cppyy::monitor_arrays::resize(&array, 9);
        return (long)array.size() * 100 + array[4];
    }
    }""")
    assert cppyy.gbl.b2c_test_generic.grow() == 907
