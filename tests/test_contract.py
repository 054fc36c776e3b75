"""The Python side of the contract (``brian2cppyy.cling.contract``) against
its C++ side (``include/brian2cppyy/contract.hpp``), compared as a whole:
every enum Python reads and every enumerator in it, every field of each
shared struct (name, offset, size, kind) and every entry point's signature.
C++ describes its side through a small reflection helper compiled here;
Python describes its side from the ctypes declarations."""

import ctypes
import os
import re

import pytest

from brian2cppyy.cling import contract, runtime

#: the structs Python maps with ctypes, by their C++ name
STRUCTS = {
    "ErrorRecord": contract.ErrorRecord,
    "KernelCall": contract.KernelCall,
    "EntryPoints": contract.EntryPoints,
}

_REFLECTION = r"""
#include <string>
#include <type_traits>
namespace b2c_contract_test {
template <typename T> std::string kind() {
    if constexpr (std::is_void_v<T>) return "void";
    else if constexpr (std::is_pointer_v<T>) return "pointer";
    else if constexpr (std::is_floating_point_v<T>) return "float" + std::to_string(8 * sizeof(T));
    else if constexpr (std::is_integral_v<T>)
        return (std::is_signed_v<T> ? "int" : "uint") + std::to_string(8 * sizeof(T));
    else return "other";
}
template <typename T> std::string signature(T) { return "not a function pointer"; }
template <typename R, typename... A> std::string signature(R (*)(A...)) {
    std::string s = kind<R>() + "(";
    ((s += kind<A>() + ","), ...);
    return s + ")";
}
}
"""


def _kind(ctype):
    """``kind<T>()`` of the reflection helper for a ctypes type."""
    if ctype is None:
        return "void"
    if ctype in (ctypes.c_void_p, ctypes.c_char_p) or issubclass(
            ctype, (ctypes._Pointer, ctypes._CFuncPtr)):
        return "pointer"
    bits = 8 * ctypes.sizeof(ctype)
    if ctype in (ctypes.c_float, ctypes.c_double):
        return f"float{bits}"
    return f"{'int' if ctype(-1).value < 0 else 'uint'}{bits}"


def _signature(ctype):
    """``signature()`` of the reflection helper for a ctypes function type."""
    args = "".join(_kind(arg) + "," for arg in ctype._argtypes_)
    return f"{_kind(ctype._restype_)}({args})"


@pytest.fixture(scope="module")
def cppyy():
    cppyy = runtime.start()
    with runtime.lock:
        if not hasattr(cppyy.gbl, "b2c_contract_test"):
            cppyy.cppdef(_REFLECTION)
    return cppyy


def _cpp(cppyy, expression, returns="std::string"):
    """The value of a C++ expression about the contract."""
    name = "f" + re.sub(r"\W", "_", expression)
    with runtime.lock:
        if not hasattr(cppyy.gbl.b2c_contract_test, name):
            cppyy.cppdef(f"namespace b2c_contract_test {{ {returns} {name}() "
                         f"{{ return {expression}; }} }}")
        value = getattr(cppyy.gbl.b2c_contract_test, name)()
    return str(value) if returns == "std::string" else int(value)


def _header_text():
    with open(os.path.join(runtime.INCLUDE_DIR, "brian2cppyy", "contract.hpp")) as f:
        return re.sub(r"//[^\n]*", "", f.read())


def test_python_reads_every_enum_of_the_header():
    """`contract.ENUMS` is every enum contract.hpp declares, and every
    enumerator of each is a value Python has."""
    declared = re.findall(r"\benum\s+(\w+)", _header_text())
    assert sorted(contract.ENUMS) == sorted(declared)
    values = vars(contract.values())
    for enum in contract.ENUMS:
        text = re.search(r"\benum\s+" + enum + r"\b[^{]*\{(.*?)\};", _header_text(), re.S)
        for name in re.findall(r"\b([A-Z][A-Z0-9_]*)\s*=", text.group(1)):
            assert name in values, f"{enum}::{name} is not read by Python"


def test_values_read_from_cling_are_cppyys_enumerators(cppyy):
    """The enumerators Python reads (names from the header's text, values
    written by Cling into Python's memory) are those cppyy's reflection sees,
    with the same values."""
    values = vars(contract.values())
    for enum in contract.ENUMS:
        members = getattr(cppyy.gbl.brian2cppyy, enum).__dict__
        reflected = {name: int(members[name]) for name in members if not name.startswith("_")}
        assert sorted(contract.enumerators(enum)) == sorted(reflected), enum
        assert {name: values[name] for name in reflected} == reflected, enum


def test_python_reads_every_constant_of_the_header():
    """`contract.CONSTANTS` is every constant contract.hpp declares, with
    C++'s value."""
    declared = re.findall(r"\bconst\s+double\s+(\w+)\s*=", _header_text())
    assert sorted(contract.CONSTANTS) == sorted(declared)
    for name in declared:
        cpp = float(getattr(runtime.start().gbl.brian2cppyy, name))
        assert getattr(contract.values(), name) == cpp > 0


@pytest.mark.parametrize("struct", sorted(STRUCTS))
def test_struct_layouts_match(cppyy, struct):
    """Each struct Python maps has C++'s size, fields (in order), and each
    field C++'s offset, size and kind."""
    python = STRUCTS[struct]
    cpp_class = getattr(cppyy.gbl.brian2cppyy, struct)
    cpp_fields = [name for name, member in cpp_class.__dict__.items()
                  if type(member).__name__ == "CPPDataMember"]
    assert [name for name, _ in python._fields_] == cpp_fields
    full = f"brian2cppyy::{struct}"
    assert ctypes.sizeof(python) == _cpp(cppyy, f"sizeof({full})", "long")
    for name, ctype in python._fields_:
        assert getattr(python, name).offset == _cpp(cppyy, f"offsetof({full}, {name})", "long"), name
        assert ctypes.sizeof(ctype) == _cpp(cppyy, f"sizeof({full}::{name})", "long"), name
        assert _kind(ctype) == _cpp(cppyy, f"kind<decltype({full}::{name})>()"), name


@pytest.mark.parametrize("name", [name for name, _ in contract.EntryPoints._fields_])
def test_entry_point_signatures_match(cppyy, name):
    """Each entry point's ctypes signature is its C++ function pointer's."""
    ctype = contract.signature(name)
    cpp = _cpp(cppyy, f"signature(decltype(brian2cppyy::EntryPoints::{name}){{}})")
    assert _signature(ctype) == cpp


def test_entry_points_are_set_when_cling_starts(cppyy):
    """The C++ functions Python calls are in place once Cling runs."""
    entry_points = contract.entry_points()
    for name in ("run_network_loop", "guarded_kernel_call", "install_fault_handlers",
                 "fill_uniform"):
        assert contract.address_of(getattr(entry_points, name)), name


def test_every_status_has_a_message_and_a_distinct_negative_value():
    from brian2cppyy.target import kernel_status

    values = vars(contract.values())
    statuses = {name: value for name, value in values.items() if name.startswith("ERR_")}
    assert set(kernel_status.STATUS_MESSAGES) == set(statuses)
    assert len(set(statuses.values())) == len(statuses)
    assert all(value < 0 for value in statuses.values())
    assert values["OK"] == 0
    for name, value in statuses.items():
        assert kernel_status.status_message(value) == kernel_status.STATUS_MESSAGES[name]


def test_the_loop_takes_as_many_clocks_as_its_mask_has_bits(cppyy):
    assert contract.values().MAX_CLOCKS == 8 * _cpp(cppyy, "sizeof(brian2cppyy::ClockMask)",
                                                    "long")


def test_no_signature_of_the_runtime_is_written_outside_the_contract():
    """The ctypes function types of the C++ runtime are `contract`'s only;
    `runtime` declares those of cling_diagnostics.hpp, which it compiles
    before contract.hpp and alone calls (two, nothing else)."""
    package = os.path.dirname(os.path.dirname(contract.__file__))
    elsewhere = {}
    for folder, _, files in os.walk(package):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != contract.__file__:
                with open(path) as f:
                    count = f.read().count("CFUNCTYPE")
                if count:
                    elsewhere[os.path.relpath(path, package)] = count
    assert elsewhere == {os.path.join("cling", "runtime.py"): 2}
