"""Preferences of the cppyy target, registered under ``codegen.runtime.cppyy``.

This module may run while Brian2 itself is being imported (see
`brian2cppyy.preference_files`): at module level it must import nothing from
Brian2 but ``brian2.core.preferences``."""

import os

from brian2.core.preferences import BrianPreference, PreferenceError, prefs

__all__ = ["cling_flags", "cache_dir", "analysis_cache_bytes", "CACHE_EXTENSIONS",
           "ANALYSIS_CACHE_FILE"]

#: the analysis cache's SQLite file in the cache directory (`brian2cppyy.analysis_cache`)
ANALYSIS_CACHE_FILE = "analysis.sqlite3"

#: file types that may live in the cache directory (SQLite may leave a
#: "-journal" file next to its database)
CACHE_EXTENSIONS = {".pch", ".lock", ".tmp", ".sqlite3", ".sqlite3-journal"}


def _invalid(name, value, expected):
    """Brian2 only says "Value ... is invalid"; our validators say what is valid."""
    raise PreferenceError(
        f"Value {value!r} for preference 'codegen.runtime.cppyy.{name}' is "
        f"invalid: {expected}."
    )


def _valid_opt_level(value):
    if value is None:
        return True
    if isinstance(value, str) and value in ("s", "fast"):
        return True
    if type(value) is int and value in (0, 1, 2, 3):
        return True
    _invalid(
        "optimisation_level",
        value,
        "the optimisation level must be None (Brian2's C++ flags decide) or one "
        "of the integers 0, 1, 2, 3 or the strings 's', 'fast' (-O0 ... -O3, -Os, -Ofast)",
    )


def _valid_flags(value):
    if isinstance(value, (list, tuple)) and all(isinstance(f, str) for f in value):
        return True
    _invalid(
        "extra_cling_args",
        value,
        "Cling's extra flags must be a list of strings, e.g. ['-march=native']",
    )


def _valid_size(value):
    if type(value) in (int, float) and value > 0:
        return True
    _invalid("analysis_cache_size", value, "the size bound must be a positive number of MB")


def _valid_threads(value):
    if value == "auto" or (type(value) is int and value >= 1):
        return True
    _invalid("threads", value, "the thread count must be a positive integer or 'auto' "
             "(the cores this process may use)")


def _valid_type(name, types, expected, optional=False):
    """A validator: the value is one of ``types`` (or ``None`` if ``optional``)."""

    def validator(value):
        if (optional and value is None) or isinstance(value, types):
            return True
        _invalid(name, value, expected)

    return validator


prefs.register_preferences(
    "codegen.runtime.cppyy",
    "Preferences of the cppyy (Cling JIT) runtime code generation target",
    optimisation_level=BrianPreference(
        default=None,
        validator=_valid_opt_level,
        docs="""
        Optimisation level of the generated kernels (0, 1, 2, 3, 's' or
        'fast'). ``None`` (the default) takes the ``-O`` flag of Brian2's C++
        flags, ``codegen.cpp.extra_compile_args_gcc`` (``-O3`` by default).
        Applied per kernel (``#pragma cling optimize``), so a change takes
        effect at the next compilation.
        """,
    ),
    fast_math=BrianPreference(
        default=None,
        validator=_valid_type(
            "fast_math", bool, "use None (Brian2's C++ flags decide), True or False", True
        ),
        docs="""
        Whether kernels are compiled with the relaxed floating-point model of
        ``-ffast-math`` (reassociation, contraction; infinities and NaNs keep
        working, as with ``-fno-finite-math-only``). ``None`` (the default)
        follows Brian2's C++ flags, ``codegen.cpp.extra_compile_args_gcc``
        (which have ``-ffast-math`` by default). Applied per kernel.
        """,
    ),
    extra_cling_args=BrianPreference(
        default=["-march=native"],
        validator=_valid_flags,
        docs="""
        Further flags for Cling (a list of strings), passed through cppyy's
        ``EXTRA_CLING_ARGS`` when Cling starts. The default is cppyy's own
        ``-march=native``. Changing ``-march``/``-fopenmp`` makes cppyy build
        a matching precompiled header once (about a minute). Cling ignores
        ``-O`` and ``-ffast-math`` here for the code it generates: use
        ``optimisation_level`` and ``fast_math``.
        """,
    ),
    cache_dir=BrianPreference(
        default=None,
        validator=_valid_type("cache_dir", str, "use None or a directory (a string)", True),
        docs="""
        The on-disk cache of the target (``clear_cache('cppyy')`` empties
        it). It holds the precompiled headers that Cling needs when
        ``extra_cling_args`` differ from cppyy's defaults (built once per set
        of flags, about a minute). Defaults to ``$XDG_CACHE_HOME/brian2cppyy``
        (``~/.cache/brian2cppyy``). Compiled kernels themselves live in memory.
        """,
    ),
    fused_loop=BrianPreference(
        default=True,
        validator=_valid_type("fused_loop", bool, "use True or False"),
        docs="""
        Whether ``Network.run`` runs its time steps in the fused C++ loop
        (returning to Python only for NetworkOperations, reports, Ctrl-C
        checks and other targets' code objects). If ``False``, Brian2's own
        Python loop calls the kernels step by step; results are the same.
        """,
    ),
    analysis_cache=BrianPreference(
        default=True,
        validator=_valid_type("analysis_cache", bool, "use True or False"),
        docs="""
        Whether Brian2's symbolic analysis of a model (the derivation of its
        state updaters; seconds with sympy for ``method='exact'``) is
        remembered on disk, in ``analysis.sqlite3`` in ``cache_dir``, so that
        the next process with the same model skips it. Results are identical
        with and without the cache. Only for the cppyy target.
        """,
    ),
    analysis_cache_size=BrianPreference(
        default=50,
        validator=_valid_size,
        docs="""
        Upper bound of the analysis cache in MB (a model takes a few kB);
        the least recently used entries are removed beyond it.
        """,
    ),
    reuse_code_objects=BrianPreference(
        default=True,
        validator=_valid_type("reuse_code_objects", bool, "use True or False"),
        docs="""
        Whether a run in the fused loop uses a code object of the previous
        run again when nothing it was made from has changed (abstract code,
        resolved names and their values, variables, preferences, the
        device's arrays; see ``brian2cppyy.loop.run_reuse``), instead of
        generating it anew as Brian2 does. If ``False``, every run generates
        its code objects; results are the same.
        """,
    ),
    threads=BrianPreference(
        default=1,
        validator=_valid_threads,
        docs="""
        How many threads the fused loop's kernels may use (an integer, or
        ``'auto'``: the cores this process may run on). Applied when a run
        starts. Loops that are safe to split (state updates, thresholds,
        resets, ``run_regularly``, summed variables, synaptic pathways whose
        threads cannot write to the same target) are split when their work
        is large enough; kernels that draw random numbers or call users' C++
        functions run on one thread. Results are bit for bit those of one
        thread. Sweep workers use 1 unless the swept function sets it.
        """,
    ),
    compile_in_background=BrianPreference(
        default=True,
        validator=_valid_type("compile_in_background", bool, "use True or False"),
        docs="""
        Whether Cling compiles a network's kernels on a thread of its own
        while Brian2 generates the code of the next ones (on two or more
        cores the two overlap). A kernel waits for its compilation when it
        is first called, and a compilation error is raised there. If
        ``False``, each kernel compiles when its code object is created.
        Results are the same.
        """,
    ),
    dump_dir=BrianPreference(
        default=None,
        validator=_valid_type("dump_dir", str, "use None or a directory (a string)", True),
        docs="""
        If set to a directory, the C++ source of every kernel is written
        there (one ``.cpp`` file per code object block, also for a block
        identical to one compiled before), for debugging.
        """,
    ),
)


#: cppyy's own default start level. A -O flag here does not change the code
#: Cling generates (measured with cppyy 3.5): kernels get their level from
#: compiler_settings, per unit; this keeps the start flags equal to cppyy's.
CLING_START_LEVEL = "-O2"


def cling_flags():
    """The flags (a string) Cling should start with, from the preferences."""
    flags = [CLING_START_LEVEL] + list(prefs["codegen.runtime.cppyy.extra_cling_args"])
    return " ".join(flags)


def cache_dir():
    """The on-disk cache directory (from the preference, or the default)."""
    path = prefs["codegen.runtime.cppyy.cache_dir"]
    if path is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache"
        )
        path = os.path.join(base, "brian2cppyy")
    return os.path.abspath(path)


def analysis_cache_bytes():
    """The size bound of the analysis cache in bytes (from the preference)."""
    return int(prefs["codegen.runtime.cppyy.analysis_cache_size"] * 2**20)


def register_cache_dir():
    """Tell Brian2 where our cache is (for ``clear_cache('cppyy')``). The
    directory is created when something is stored there: one that cannot be
    created (a file in the way, a read-only home) means no cache, and must
    not make ``import brian2cppyy`` fail."""
    from brian2 import _cache_dirs_and_extensions

    path = cache_dir()
    _cache_dirs_and_extensions["cppyy"] = (path, set(CACHE_EXTENSIONS))
    return path
