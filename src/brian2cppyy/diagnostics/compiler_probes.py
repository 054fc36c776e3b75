"""Compiler settings in ``python -m brian2cppyy info``: what the preferences
request next to what reaches the compiled code.

A setting asked for is not necessarily applied (Cling ignores ``-O...`` and
``-ffast-math`` in ``EXTRA_CLING_ARGS``; the kernels get them per unit, see
`brian2cppyy.cling.compiler_settings`), so each setting that can be observed
is observed by a probe: a kernel compiled as the code objects compile theirs
(same pragmas), run in the child process of ``info`` once Cling has started
(`APPLIED_PROBES`). A setting without a probe is reported as "not verified",
never as "in use".
"""

__all__ = ["requested_settings", "run_probes", "settings_rows", "APPLIED_PROBES"]


def requested_settings():
    """The compiler settings that the preferences ask for, as ``{setting:
    (value, where it comes from)}``: ``optimisation_level`` and ``fast_math``
    (`brian2cppyy.cling.compiler_settings`: our preferences, or Brian2's C++ flags),
    ``extra_cling_args`` and the kernels' ``threads``."""
    from brian2 import prefs

    from ..cling import compiler_settings

    settings = compiler_settings.current()
    return {
        "optimisation_level": (settings.requested_level, settings.level_source),
        "fast_math": (settings.fast_math, settings.fast_math_source),
        "extra_cling_args": (list(prefs["codegen.runtime.cppyy.extra_cling_args"]),
                             "codegen.runtime.cppyy.extra_cling_args"),
        "threads": (prefs["codegen.runtime.cppyy.threads"], "codegen.runtime.cppyy.threads"),
    }


#: A kernel compiled as the code objects compile theirs (same pragmas); bit 1
#: of its result: the optimiser folded ``__builtin_constant_p`` of an inlined
#: constant (never at level 0); bit 2: ``(a + b) - b`` with a = 1e-20, b = 1
#: (read at run time) is not 0, i.e. the compiler reassociated (fast-math).
_PROBE_KERNEL = """
__attribute__((always_inline)) static inline double _constant_probe(double x)
{ return __builtin_constant_p(x) ? 1.0 : 0.0; }
static inline double _reassociation_probe(double a, double b) { return (a + b) - b; }
int64_t _kernel(brian2cppyy::Slot* const _slots)
{
    const double a = _slots[0].d, b = _slots[1].d;
    int64_t result = 0;
    if (_constant_probe(1.5) == 1.0)
        result |= 1;
    if (_reassociation_probe(a, b) != 0.0)
        result |= 2;
    return result;
}
"""
_OPTIMISER_ON, _REASSOCIATED = 1, 2


def _probe_kernel():
    """Compile and run `_PROBE_KERNEL` with the current settings' pragmas."""
    import numpy as np

    from ..cling import compiler_settings, contract, jit

    address = jit.compile_kernel(
        _PROBE_KERNEL, pragmas=compiler_settings.pragmas(compiler_settings.current())
    )
    slots = np.array([1e-20, 1.0])
    return int(contract.KERNEL_FUNCTION(address)(slots.ctypes.data))


def _probe_level(requested):
    """Whether the optimiser runs on a kernel (it cannot tell 1, 2 and 3 apart)."""
    from ..cling import compiler_settings

    on = bool(_probe_kernel() & _OPTIMISER_ON)
    wanted = compiler_settings.current().level > 0
    return {
        "applied": "1-3 (optimiser on)" if on else "0 (optimiser off)",
        "how": "whether __builtin_constant_p folds in a probe kernel",
        "matches": on == wanted,
    }


def _probe_fast_math(requested):
    """Whether the compiler reassociates floating-point sums in a kernel;
    without the optimiser nothing exploits fast-math, so it cannot be seen."""
    result = _probe_kernel()
    how = "whether (a + b) - b is reassociated in a probe kernel"
    if not result & _OPTIMISER_ON:
        return {"applied": None, "how": how + "; not observable at level 0",
                "matches": None}
    applied = bool(result & _REASSOCIATED)
    return {"applied": applied, "how": how, "matches": applied == bool(requested)}


#: setting -> probe(requested value), run once Cling has started; it returns
#: a dict: ``applied`` (what reaches the code, or None), ``how`` (how that was
#: established) and ``matches`` (True, False, or None when it cannot tell)
def _probe_threads(requested):
    """The thread count the C++ pool takes for the preference (as a run
    applies it)."""
    from ..loop import threads

    wanted = threads.resolve(requested)
    applied = threads.apply()
    return {"applied": applied, "matches": applied == wanted,
            "how": "the C++ thread pool's count after applying the preference "
                   f"({wanted} wanted)"}


APPLIED_PROBES = {"optimisation_level": _probe_level, "fast_math": _probe_fast_math,
                  "threads": _probe_threads}


def run_probes():
    """``{setting: probe result}`` for every requested setting that a probe
    observes; a probe that fails is reported as such (``matches`` None)."""
    applied = {}
    for setting, (value, _) in requested_settings().items():
        probe = APPLIED_PROBES.get(setting)
        if probe is None:
            continue
        try:
            applied[setting] = dict(probe(value))
        except Exception as exc:  # noqa: BLE001 - reported
            applied[setting] = {"applied": None, "matches": None,
                                "how": f"the probe failed: {type(exc).__name__}: {exc}"}
    return applied


def settings_rows(requested, applied):
    """One row per requested setting: ``name``, ``requested``, ``source``
    (the preference it comes from), ``applied`` (``None``: not verified),
    ``how`` and ``status`` (``'applied'``, ``'NOT APPLIED'`` or ``'not
    verified'``). ``requested`` is as `requested_settings` returns it,
    ``applied`` as `run_probes` does."""
    rows = []
    for name, (wanted, source) in requested.items():
        found = applied.get(name)
        if found is None:
            how = ("passed to Cling in EXTRA_CLING_ARGS; their effect is not verified"
                   if name == "extra_cling_args" else "no probe observes it")
            found = {"applied": None, "how": how, "matches": None}
        status = {True: "applied", False: "NOT APPLIED", None: "not verified"}[found["matches"]]
        rows.append({"name": name, "requested": wanted, "source": source,
                     "applied": found["applied"], "how": found["how"], "status": status})
    return rows
