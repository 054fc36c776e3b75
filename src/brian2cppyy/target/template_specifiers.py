"""What a template of this target says about itself, beyond Brian2's own
specifiers (``USES_VARIABLES { ... }``, ``ITERATE_ALL { ... }``): the code
object reads these from the template's source, so that what is particular to a
template is written in the template.

``RETURNS_ARRAY { size dtype }``
    The ``run`` block writes into ``_return_buffer`` and returns how many
    elements it wrote; the code object hands it a buffer of as many elements
    as the variable ``size`` holds (its length, for an array) of the dtype of
    variable ``dtype`` or of the numpy type of that name (``int32``).
``OWNER_CALLS { block: method }``
    Before running ``block``, the code object calls the owner's ``method()``
    (a pathway rebuilds its spike queue from the delays before each run).
``CPP_OBJECTS { name: Type }``
    The variable ``name`` is a PyCapsule holding a C++ object of type ``Type``
    (the capsule's name); the kernel gets a ``Type*``.
``INCLUDES { header, ... }``
    The runtime headers (``brian2cppyy/spike_queue.hpp``) the template's code
    uses: the code object includes them before the kernel's namespace (a
    header's guard keeps it from being parsed twice in a process).
``PREPARES { header, ... }``
    Runtime headers that the templates of code objects made after this one
    are likely to include (a Synapses object that creates synapses has
    pathways: ``brian2cppyy/spike_queue.hpp``). When its kernels compile on
    the compile thread, the headers are compiled there as soon as no kernel
    waits (`compile_thread.submit_when_idle`), while Brian2 generates the
    next code objects: the kernel that includes a header later finds it
    parsed.
``RUNS_ONCE { block, ... }``
    The blocks run once per call from Python (creating synapses, getting or
    setting a variable), not at every time step: they are compiled at the
    lower level of `compiler_settings.RUN_ONCE_LEVEL`. ``before_run`` and
    ``after_run`` run once per ``Network.run`` by Brian2's definition and are
    always compiled so; the list names the ``run`` block where it runs once.

Each is written inside a Jinja comment, like Brian2's, e.g.
``{# RETURNS_ARRAY { N int32 } #}``.
"""

import re
from dataclasses import dataclass, field

import numpy as np
from brian2.core.variables import ArrayVariable

__all__ = ["TemplateSpecifiers", "read"]


@dataclass(frozen=True)
class ReturnedArray:
    """``RETURNS_ARRAY``: the returned buffer's size and element type."""

    size: str  #: the variable that holds the number of elements
    dtype: str  #: a variable whose dtype the elements have, or a numpy type name

    def buffer(self, variables):
        """A zeroed buffer for the kernel, from the code object's variables."""
        var = variables[self.size]
        if isinstance(var, ArrayVariable) and not var.scalar:
            size = var.get_len()
        else:
            size = int(np.asarray(var.get_value()).item())
        if self.dtype in variables:
            dtype = variables[self.dtype].dtype
        else:
            dtype = np.dtype(self.dtype)
        return np.zeros(max(size, 1), dtype=dtype)


@dataclass(frozen=True)
class TemplateSpecifiers:
    returns: ReturnedArray = None  #: ``RETURNS_ARRAY``, or ``None``
    owner_calls: dict = field(default_factory=dict)  #: block -> owner's method name
    cpp_objects: dict = field(default_factory=dict)  #: variable -> C++ type
    runs_once: frozenset = frozenset()  #: ``RUNS_ONCE``: blocks run once per call
    includes: tuple = ()  #: ``INCLUDES``: runtime headers, in order
    prepares: tuple = ()  #: ``PREPARES``: runtime headers later templates include

    def block_runs_once(self, block):
        """Whether ``block`` runs once per call rather than every time step
        (``before_run`` and ``after_run`` always do)."""
        return block != "run" or block in self.runs_once


def _blocks(keyword, source):
    return re.findall(r"\b" + keyword + r"\b\s*\{(.*?)\}", source, re.S)


def _pairs(keyword, source, template_name):
    """``{a: b, ...}`` from ``KEYWORD { a: b, ... }``."""
    pairs = {}
    for block in _blocks(keyword, source):
        for item in filter(None, (part.strip() for part in block.split(","))):
            key, sep, value = (part.strip() for part in item.partition(":"))
            if not sep or not key or not value:
                raise ValueError(
                    f"Template '{template_name}': '{item}' in {keyword} is not 'name: value'."
                )
            pairs[key] = value
    return pairs


#: the blocks a template can have
BLOCKS = ("before_run", "run", "after_run")


def _names(keyword, source):
    """``(a, b)`` from ``KEYWORD { a, b }``, in order."""
    return tuple(
        name for block in _blocks(keyword, source)
        for name in filter(None, (part.strip() for part in block.split(",")))
    )


def _block_names(keyword, source, template_name):
    """``{a, b}`` from ``KEYWORD { a, b }``, each one of `BLOCKS`."""
    names = _names(keyword, source)
    for name in names:
        if name not in BLOCKS:
            raise ValueError(
                f"Template '{template_name}': '{name}' in {keyword} is not a block "
                f"({', '.join(BLOCKS)})."
            )
    return frozenset(names)


def read(template_source, template_name="?"):
    """The specifiers in a template's source."""
    source = template_source or ""
    returns = None
    blocks = _blocks("RETURNS_ARRAY", source)
    if blocks:
        words = blocks[0].split()
        if len(blocks) > 1 or len(words) != 2:
            raise ValueError(
                f"Template '{template_name}': RETURNS_ARRAY takes one block "
                "'{ size dtype }'."
            )
        returns = ReturnedArray(*words)
    return TemplateSpecifiers(
        returns=returns,
        owner_calls=_pairs("OWNER_CALLS", source, template_name),
        cpp_objects=_pairs("CPP_OBJECTS", source, template_name),
        runs_once=_block_names("RUNS_ONCE", source, template_name),
        includes=_names("INCLUDES", source),
        prepares=_names("PREPARES", source),
    )
