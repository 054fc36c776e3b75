"""Cling links kernels to the std::vector code that Brian2's extension
modules export (brian2_machine_code.py) instead of generating its own."""

import ctypes
import importlib.util

import pytest
from brian2 import NeuronGroup, StateMonitor, ms, run

from brian2cppyy.cling import brian2_machine_code, runtime
from brian2cppyy.diagnostics import machine_code

DYNAMIC_ARRAYS = "brian2.memory.cythondynamicarray"


@pytest.mark.skipif(importlib.util.find_spec(DYNAMIC_ARRAYS) is None,
                    reason="Brian2 without its compiled dynamic arrays")
def test_kernels_call_the_vector_code_of_brian2s_dynamic_arrays():
    group = NeuronGroup(2, "v : 1")
    monitor = StateMonitor(group, "v", record=True)  # grows vector<double>s
    run(0.2 * ms)
    assert monitor.v.shape == (2, 2)
    # (a protected member: named through a derived class)
    compiled, diagnostics = runtime.declare(
        "#include <cstring>\n#include <vector>\n"
        "struct B2cTestVector : std::vector<double> {\n"
        "    static void* fill_insert_address() {\n"
        "        auto member = &B2cTestVector::_M_fill_insert;\n"
        "        void* address;\n"
        "        std::memcpy(&address, &member, sizeof address);\n"
        "        return address;\n    }\n};\n")
    assert compiled, diagnostics
    (address,) = runtime.read_values(["(int64_t)B2cTestVector::fill_insert_address()"])
    library = importlib.util.find_spec(DYNAMIC_ARRAYS).origin
    assert machine_code.mapping_of(address)[3] == library


def test_missing_modules_are_skipped(monkeypatch):
    monkeypatch.setattr(brian2_machine_code, "MODULES",
                        ("brian2cppyy_no_such_module", "ctypes", DYNAMIC_ARRAYS))
    shared = brian2_machine_code.share()
    expected = importlib.util.find_spec(DYNAMIC_ARRAYS)
    assert shared == ([expected.origin] if expected is not None else [])
    # the library's symbols are global now: found without a handle of it
    if expected is not None:
        assert ctypes.CDLL(None).PyInit_cythondynamicarray is not None
