"""The contract between Python and the C++ runtime, read from
``include/brian2cppyy/contract.hpp``: the one place on the Python side for
every number and layout the two share.

* Numbers: every enumerator of the header's enums (`ENUMS`: statuses, slot
  indices, the fused loop's entry columns, state slots, times and results,
  ``MAX_CLOCKS``) and every constant (`CONSTANTS`: ``CLOCK_EPSILON_DT``) is
  read from the header's text once, as attributes of `values()`
  (``values().ERR_FAULT``): Python writes none of them down, and code
  generation needs no running Cling (it goes on while Cling starts). The
  header gives each a literal (an enumerator without one is the previous
  plus one, as in C++); anything else is an error here.
* Layouts: the structs Python reads and writes through ctypes
  (`ErrorRecord`, `KernelCall`, `EntryPoints`) are declared here, with the
  ctypes signature of each entry point next to its name.
  ``tests/test_contract.py`` compares them with C++: every field's offset
  and size, every entry point's signature, every enumerator.
* Entry points: `entry_points()` is the header's one ``EntryPoints``
  instance, mapped once onto its address (read when Cling starts,
  `runtime.entry_points_address`); Python calls its C++ functions and sets
  its callbacks through it (no cppyy call, so no wrapper for Cling to
  compile).
"""

import ctypes
import functools
import os
import re
import types

from . import runtime

__all__ = ["ENUMS", "CONSTANTS", "ErrorRecord", "KernelCall", "EntryPoints", "KERNEL_FUNCTION",
           "values", "enumerators", "entry_points", "signature", "address_of"]

#: the enums of contract.hpp whose enumerators Python reads
ENUMS = ("KernelSlot", "Status", "LoopLimit", "LoopEntryColumn", "LoopEntryKind",
         "LoopStateSlot", "LoopResume", "LoopTime", "LoopResult")
#: the (double) constants of contract.hpp Python reads
CONSTANTS = ("CLOCK_EPSILON_DT",)

_int64, _int32, _int, _double, _pointer = (
    ctypes.c_int64, ctypes.c_int32, ctypes.c_int, ctypes.c_double, ctypes.c_void_p)


class ErrorRecord(ctypes.Structure):
    """What a kernel tells about its error besides the status (contract.hpp's
    ``ErrorRecord``, which says which status fills which field)."""

    _fields_ = [
        ("status", _int64),
        ("value", _int64),
        ("limit", _int64),
        ("index_variable", _int64),
        ("time", _double),
        ("has_message", _int64),
        ("signal_number", _int64),
        ("signal_code", _int64),
        ("address", _int64),
    ]


class KernelCall(ctypes.Structure):
    """One kernel call from Python: the kernel's address, its slot array's."""

    _fields_ = [("kernel", _pointer), ("slots", _pointer)]


#: ``int64_t _kernel(Slot*)``
KERNEL_FUNCTION = ctypes.CFUNCTYPE(_int64, _pointer)


class EntryPoints(ctypes.Structure):
    """contract.hpp's ``EntryPoints``: each member with its ctypes signature."""

    _fields_ = [
        ("run_network_loop", ctypes.CFUNCTYPE(
            _int64, _pointer, _int32, _pointer, _pointer, _pointer, _pointer, _int32,
            _pointer, _pointer, _pointer)),
        ("guarded_kernel_call", ctypes.CFUNCTYPE(_int64, ctypes.POINTER(KernelCall))),
        ("install_fault_handlers", ctypes.CFUNCTYPE(_int64)),
        ("fill_uniform", ctypes.CFUNCTYPE(None, _pointer, _int32, _pointer, _pointer)),
        ("last_error_message", ctypes.CFUNCTYPE(ctypes.c_char_p)),
        ("refill_callback", ctypes.CFUNCTYPE(_int, _int, _pointer, _int)),
        ("last_kernel", KERNEL_FUNCTION),
    ]


_values = None
_entry_points = None


def values():
    """Every enumerator of `ENUMS` and every one of `CONSTANTS`, read from
    contract.hpp once, as a namespace (``values().ERR_FAULT``)."""
    global _values
    if _values is None:
        numbers = dict(item for enum in ENUMS for item in _enum_values(enum))
        numbers.update((name, _constant(name)) for name in CONSTANTS)
        _values = types.SimpleNamespace(**numbers)
    return _values


@functools.cache
def _header_text():
    """contract.hpp without its comments (read once)."""
    with open(os.path.join(runtime.INCLUDE_DIR, "brian2cppyy", "contract.hpp")) as f:
        return re.sub(r"//[^\n]*|/\*.*?\*/", "", f.read(), flags=re.S)


def _enum_values(enum):
    """``(name, value)`` of each enumerator of contract.hpp's enum ``enum``."""
    found = re.search(r"\benum\s+" + enum + r"\b[^{;]*\{(.*?)\}", _header_text(), re.S)
    if found is None:
        raise LookupError(f"contract.hpp declares no enum {enum}")
    items, value = [], -1
    for item in found.group(1).split(","):
        name, _, literal = (part.strip() for part in item.partition("="))
        if not name:
            continue
        value = _literal(literal, int, f"{enum}::{name}") if literal else value + 1
        items.append((name, value))
    return items


def _constant(name):
    """The value of contract.hpp's ``const double name``."""
    found = re.search(r"\bconst\s+double\s+" + name + r"\s*=\s*([^;]*);", _header_text())
    if found is None:
        raise LookupError(f"contract.hpp declares no constant double {name}")
    return _literal(found.group(1).strip(), float, name)


def _literal(text, kind, name):
    """The number a C++ literal of ``kind`` (int or float) spells."""
    try:
        return int(text, 0) if kind is int else float(text)
    except ValueError:
        raise ValueError(f"contract.hpp: {name} = {text}, not a literal: Python reads "
                         "the contract's numbers from the header's text") from None


def enumerators(enum):
    """The names of the enumerators of contract.hpp's enum ``enum``."""
    return [name for name, _ in _enum_values(enum)]


def entry_points():
    """The C++ runtime's ``brian2cppyy::entry_points`` as an `EntryPoints`
    (ctypes, mapped onto the C++ object once; waits for Cling's start)."""
    global _entry_points
    if _entry_points is None:
        _entry_points = EntryPoints.from_address(runtime.entry_points_address())
    return _entry_points


def signature(name):
    """The ctypes function type of entry point ``name``."""
    return dict(EntryPoints._fields_)[name]


def address_of(function):
    """The address of a ctypes function pointer (0 for a null one)."""
    return ctypes.cast(function, ctypes.c_void_p).value or 0
