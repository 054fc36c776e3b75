"""From a rendered template to the source of a Cling unit: support
functions become inlinable, and preprocessor lines are moved where they
cannot leak into later units.
"""

import re

__all__ = ["inlinable", "split_preprocessor",
           "on_demand_includes"]

#: runtime headers that Cling loads with the first kernel that needs them, not
#: when it starts: header -> what a kernel's source calls from it
ON_DEMAND_HEADERS = {
    "brian2cppyy/vmath_trig.hpp": (
        "vmath::sin(", "vmath::cos(", "vmath::sqrt(", "fast_pow_half<",
    ),
}

#: ``static inline`` at the start of a declaration
_STATIC_INLINE = re.compile(r"\bstatic(\s+)inline\b")


def inlinable(source):
    """The source with ``static inline`` functions made ``inline``.

    Cling (cppyy 3.5) never inlines a function of internal linkage into
    its caller (measured: a ``static inline`` helper stays a call, an
    ``inline`` one is inlined), and a call in a kernel's loop stops the loop
    vectoriser. Brian2 writes every support function (``_timestep``,
    ``_rand``, TimedArray lookups, users' functions) as ``static inline``.
    Each unit lives in a namespace of its own, so external linkage changes
    nothing else."""
    return _STATIC_INLINE.sub(r"inline", source)


def on_demand_includes(source):
    """The ``#include`` lines of the `ON_DEMAND_HEADERS` that ``source``
    calls into (each header is parsed once per process: header guards)."""
    return [
        f'#include "{header}"'
        for header, uses in ON_DEMAND_HEADERS.items()
        if any(use in source for use in uses)
    ]


def split_preprocessor(source, define_macros):
    """``(preamble, body, epilogue)``: ``#include`` lines move out of the
    kernel's namespace (into the preamble), and every macro the unit defines
    (``define_macros``: ``(name, value)`` pairs, and ``#define`` lines) is
    ``#undef``-ined in the epilogue, so that nothing leaks into later units."""
    preamble, body, undefs = [], [], []
    for name, value in define_macros:
        preamble.append(f"#define {name} {value if value is not None else ''}".rstrip())
        undefs.append(f"#undef {name}")
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#include"):
            preamble.append(stripped)
            continue
        match = re.match(r"#\s*define\s+([A-Za-z_]\w*)", stripped)
        if match:
            undefs.append(f"#undef {match.group(1)}")
        body.append(line)
    return "\n".join(preamble), "\n".join(body), "\n".join(undefs)
