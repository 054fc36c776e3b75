"""What the kernels are compiled with: the optimisation level and the
floating-point model, and the pragmas that make Cling apply them.

Cling (cppyy 3.5) ignores ``-O`` and ``-ffast-math`` in ``EXTRA_CLING_ARGS``
for the code it generates: every flag set measures the same, ``__FAST_MATH__``
is never defined. What it does honour, per compiled unit (one Cling
transaction), is

* ``#pragma cling optimize(N)``: the optimisation level of the transaction;
* ``#pragma float_control(precise, off)``: the relaxed floating-point model of
  ``-ffast-math`` (reassociation, contraction, reciprocals, no signed zeros),
  *without* finite-math-only, i.e. what Brian2's C++ flags
  ``-ffast-math -fno-finite-math-only`` ask of gcc. Unlike a command-line flag,
  this pragma outlives the transaction it appears in, so every unit wraps it
  in ``float_control(push)`` / ``float_control(pop)``.

Code that runs once per call rather than every time step (creating
synapses, getting and setting variables, ``before_run`` and ``after_run``
blocks; a template says which, see `template_specifiers`) is compiled at
`RUN_ONCE_LEVEL` at most: Cling's -O3 costs such a kernel two to four times
the compile time of -O1 (measured: 240 ms against 65 ms for a synapse
creation), while -O1 code runs within 1.2x of -O3 code (creating 10^5 of
4*10^8 candidate synapses: 0.45 s against 0.37 s; -O0 code took 2.5 s).
The floating-point model stays the configured one.

The settings come from our preferences (``codegen.runtime.cppyy.
optimisation_level`` and ``fast_math``) or, where those are ``None`` (the
default), from Brian2's own C++ flags ``codegen.cpp.extra_compile_args_gcc``
(``-O3 -ffast-math -fno-finite-math-only -march=native`` by default), so the
cppyy target compiles what Brian2's other C++ targets compile. The settings
are part of each unit's source, so a changed setting compiles anew and applies
at once, in the same process.
"""

from dataclasses import dataclass

from brian2.core.preferences import prefs

__all__ = ["CompilerSettings", "current", "pragmas", "RUN_ONCE_LEVEL"]

#: the highest level for code that runs once per call, not every time step
RUN_ONCE_LEVEL = 1

#: Cling's levels for gcc's -O spellings (Cling has no size levels)
_LEVELS = {"s": 2, "z": 2, "g": 1, "fast": 3, "": 1}


@dataclass(frozen=True)
class CompilerSettings:
    """The optimisation level and floating-point model of the kernels, with
    where each came from (for ``python -m brian2cppyy info``)."""

    requested_level: str  #: as asked for: '0'..'3', 's', 'fast', ...
    level: int  #: the level Cling applies (0..3)
    fast_math: bool  #: relaxed floating-point model (finite maths kept)
    level_source: str  #: the preference it came from
    fast_math_source: str


def _from_gcc_args(args):
    """The -O level and fast-math mode that gcc flags ask for (the last
    flag of each kind wins, as for gcc); ``None`` where they say nothing."""
    level = fast = None
    for arg in args:
        if arg.startswith("-O"):
            level = arg[2:]
        elif arg in ("-ffast-math", "-Ofast"):
            fast = True
        elif arg == "-fno-fast-math":
            fast = False
        if arg == "-Ofast":
            level = "fast"
    return level, fast


def current():
    """The settings the next kernel is compiled with, from the preferences."""
    brian_pref = "codegen.cpp.extra_compile_args_gcc"
    gcc_level, gcc_fast = _from_gcc_args(prefs[brian_pref])
    level = prefs["codegen.runtime.cppyy.optimisation_level"]
    level_source = "codegen.runtime.cppyy.optimisation_level"
    if level is None:
        level, level_source = gcc_level, brian_pref
        if level is None:  # gcc's own default
            level, level_source = "0", f"{brian_pref} (no -O flag: gcc's -O0)"
    level = str(level)
    fast = prefs["codegen.runtime.cppyy.fast_math"]
    fast_source = "codegen.runtime.cppyy.fast_math"
    if fast is None:
        fast = bool(gcc_fast) or level == "fast"
        fast_source = brian_pref
    return CompilerSettings(level, _cling_level(level), bool(fast), level_source, fast_source)


def _cling_level(level):
    """Cling's level (0..3) for a gcc -O spelling (gcc takes -O4 and up as -O3)."""
    if level.isdigit():
        return min(int(level), 3)
    return _LEVELS.get(level, 2)


def pragmas(settings, runs_once=False):
    """``(head, tail)``: the lines that go before and after a unit's code
    (``runs_once``: the unit runs once per call, see `RUN_ONCE_LEVEL`)."""
    precise = "off" if settings.fast_math else "on"
    level = min(settings.level, RUN_ONCE_LEVEL) if runs_once else settings.level
    head = [
        f"#pragma cling optimize({level})",
        "#pragma float_control(push)",
        f"#pragma float_control(precise, {precise})",
    ]
    return "\n".join(head), "#pragma float_control(pop)"
