"""What a kernel's generated code does, as far as splitting its loop over
threads is concerned (``parallel_loops.hpp``): which arrays it writes and reads
through which index, whether it draws random numbers, whether it calls
users' C++ code.

The generator (`CppyyCodeGenerator`) makes one `KernelTraits` from the vector
statements it translates and hands it to the template as ``_traits``; the
template decides from it and from what it adds itself (a threshold's event
space, a summed variable's target) whether, and how, its loop is split:

* `per_index` -- every write goes to the loop's own index (``_idx``, or an
  index that Brian2 marks unique, e.g. a subgroup's ``_sub_idx``) and no
  written array is read through another index: any split of the index range
  gives the serial results (state updates, thresholds, resets,
  ``run_regularly``, a summed variable's expression).
* `target_index` -- the one index not unique through which the code writes
  (a synaptic pathway's ``_postsynaptic_idx``): the loop may be split by
  that index's values, each thread doing the synapses whose target is its
  own, in the serial order.

Random numbers come from process-wide buffers in a fixed order, and users'
functions may keep state: a kernel that uses either runs on one thread.
"""

from dataclasses import dataclass

from brian2.core.functions import DEFAULT_FUNCTIONS, Function
from brian2.core.variables import ArrayVariable
from brian2.devices.device import get_device
from brian2.input.timedarray import TimedArray

__all__ = ["KernelTraits", "traits"]

#: the loop index of every template
LOOP_INDEX = "_idx"


@dataclass(frozen=True)
class KernelTraits:
    """The accesses of a kernel's vector code (variable name -> index name)."""

    writes: tuple = ()            # ((name, index), ...) written in the vector code
    unique_indices: frozenset = frozenset({"_idx"})  # indices of one element per iteration
    conflicting_reads: bool = False  # a written array is also read through another index
    draws_random: bool = True
    calls_user_code: bool = True

    @property
    def may_run_in_parallel(self):
        """Neither random numbers nor users' code."""
        return not (self.draws_random or self.calls_user_code)

    @property
    def per_index(self):
        """Every write goes to the loop's own index (see the module docstring)."""
        return (self.may_run_in_parallel and not self.conflicting_reads
                and all(index in self.unique_indices for _, index in self.writes))

    @property
    def target_index(self):
        """The one index not unique through which the code writes, if all
        its other writes go through unique ones (else None)."""
        if not self.may_run_in_parallel or self.conflicting_reads:
            return None
        others = {index for _, index in self.writes if index not in self.unique_indices}
        return others.pop() if len(others) == 1 else None


def _is_pure(function):
    """A function that any thread may call: Brian2's own stateless ones and
    TimedArray lookups (read-only tables)."""
    if isinstance(function, TimedArray):
        return True
    return function.stateless and any(function is f for f in DEFAULT_FUNCTIONS.values())


def traits(variables, variable_indices, read, write):
    """The traits of vector code that reads ``read`` and writes ``write``
    (variable names, as Brian2's ``CodeGenerator.arrays_helper`` gives them)."""
    device = get_device()
    functions = [var for var in variables.values() if isinstance(var, Function)]
    draws_random = any(not getattr(f, "stateless", True) for f in functions)
    calls_user_code = not all(_is_pure(f) for f in functions if getattr(f, "stateless", True))
    array_of = {
        name: device.get_array_name(var)
        for name, var in variables.items() if isinstance(var, ArrayVariable)
    }
    writes = tuple(sorted((name, variable_indices[name]) for name in write))
    written_through = {}
    for name, index in writes:
        written_through.setdefault(array_of.get(name, name), set()).add(index)
    conflicting = any(len(indices) > 1 for indices in written_through.values())
    for name in read:
        indices = written_through.get(array_of.get(name, name))
        if indices is not None and indices != {variable_indices[name]}:
            conflicting = True
    unique = frozenset({LOOP_INDEX} | {
        index for _, index in writes if getattr(variables.get(index), "unique", False)})
    return KernelTraits(writes, unique, conflicting, draws_random, calls_user_code)
