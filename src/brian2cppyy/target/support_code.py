"""The C++ code of the functions a kernel calls (Brian2's support code and
hash defines: Brian2's, TimedArray's, users' ``@implementation('cpp', ...)``),
made fit for a kernel unit, which lives in a C++ namespace of its own: its
``#include`` lines go before the namespace, the macros it defines are
undefined after the unit (nothing leaks into later units), and its
``static inline`` functions become ``inline``.

The code generator applies these to the functions' code it collects
(`CppyyCodeGenerator.determine_keywords`), and the templates place the
results: never to a rendered template.
"""

import re

__all__ = ["inlinable", "split_includes", "defined_macros"]

#: ``static inline`` at the start of a declaration
_STATIC_INLINE = re.compile(r"\bstatic(\s+)inline\b")
#: a ``#define`` line and the macro's name
_DEFINE = re.compile(r"\s*#\s*define\s+([A-Za-z_]\w*)")
#: an ``#include`` line
_INCLUDE = re.compile(r"\s*#\s*include\b")


def inlinable(lines):
    """The lines with ``static inline`` functions made ``inline``.

    Cling (cppyy 3.5) never inlines a function of internal linkage into
    its caller (measured: a ``static inline`` helper stays a call, an
    ``inline`` one is inlined), and a call in a kernel's loop stops the loop
    vectoriser. Brian2 writes every support function (``_timestep``,
    ``_rand``, TimedArray lookups, users' functions) as ``static inline``.
    Each unit lives in a namespace of its own, so external linkage changes
    nothing else."""
    return [_STATIC_INLINE.sub(r"inline", line) for line in lines]


def split_includes(lines):
    """``(include lines, other lines)``: a user's function may include a
    header in its code (Brian2's documentation does), which must not be
    parsed inside the kernel's namespace."""
    includes = [line.strip() for line in lines if _INCLUDE.match(line)]
    others = [line for line in lines if not _INCLUDE.match(line)]
    return includes, others


def defined_macros(lines):
    """The names of the macros the lines ``#define``, in order, once each."""
    names = [match.group(1) for match in map(_DEFINE.match, lines) if match]
    return list(dict.fromkeys(names))
