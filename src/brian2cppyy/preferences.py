"""Preferences of the cppyy target, registered under ``codegen.runtime.cppyy``."""

import os

from brian2.core.preferences import BrianPreference, prefs

__all__ = ["cling_flags", "cache_dir", "CACHE_EXTENSIONS"]

#: file types that may live in the cache directory
CACHE_EXTENSIONS = {".pch", ".lock", ".tmp"}


def _valid_opt_level(value):
    if isinstance(value, str):
        return value in ("s", "fast")
    return type(value) is int and value in (0, 1, 2, 3)


def _valid_flags(value):
    return isinstance(value, (list, tuple)) and all(isinstance(f, str) for f in value)


prefs.register_preferences(
    "codegen.runtime.cppyy",
    "Preferences of the cppyy (Cling JIT) runtime code generation target",
    optimisation_level=BrianPreference(
        default=2,
        validator=_valid_opt_level,
        docs="""
        Optimisation level Cling uses for the generated kernels (0, 1, 2, 3,
        's' or 'fast'; the default, 2, is cppyy's own ``-O2``). It is
        fixed when Cling starts, i.e. at the first compilation in a process.
        """,
    ),
    extra_cling_args=BrianPreference(
        default=["-march=native"],
        validator=_valid_flags,
        docs="""
        Further flags for Cling (a list of strings), passed through cppyy's
        ``EXTRA_CLING_ARGS`` when Cling starts. The default is cppyy's own
        ``-march=native``. Changing ``-march``/``-fopenmp`` makes cppyy build
        a matching precompiled header once (about a minute).
        """,
    ),
    cache_dir=BrianPreference(
        default=None,
        validator=lambda v: v is None or isinstance(v, str),
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
        validator=lambda v: isinstance(v, bool),
        docs="""
        Whether ``Network.run`` runs its time steps in the fused C++ loop
        (returning to Python only for NetworkOperations, reports, Ctrl-C
        checks and other targets' code objects). If ``False``, Brian2's own
        Python loop calls the kernels step by step; results are the same.
        """,
    ),
    dump_dir=BrianPreference(
        default=None,
        validator=lambda v: v is None or isinstance(v, str),
        docs="""
        If set to a directory, the C++ source of every compiled kernel is
        written there (one ``.cpp`` file per code object block), for
        debugging.
        """,
    ),
)


def cling_flags():
    """The flags (a string) Cling should start with, from the preferences."""
    level = prefs["codegen.runtime.cppyy.optimisation_level"]
    flags = [f"-O{level}"] + list(prefs["codegen.runtime.cppyy.extra_cling_args"])
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


def register_cache_dir():
    """Tell Brian2 where our cache is (for ``clear_cache('cppyy')``)."""
    from brian2 import _cache_dirs_and_extensions

    path = cache_dir()
    os.makedirs(path, exist_ok=True)
    _cache_dirs_and_extensions["cppyy"] = (path, set(CACHE_EXTENSIONS))
    return path
