"""The user's function of a sweep, on the client: its name, the checks made
before anything runs (`check_function`: callable, takes the parameters,
builds its own Brian2 objects) and its pickle (`pickle_function`, made once
and sent with every task; the workers unpickle it once per process).
"""

import functools
import inspect

__all__ = ["check_function", "pickle_function", "function_name", "full_name"]


def function_name(function):
    """The function's qualified name (a partial's, its function's)."""
    target = function.func if isinstance(function, functools.partial) else function
    return getattr(target, "__qualname__", None) or type(target).__name__


def full_name(function):
    """``module.qualified_name`` of the function: the owner of a store."""
    target = function.func if isinstance(function, functools.partial) else function
    return f"{getattr(target, '__module__', None) or '?'}.{function_name(function)}"


def _check_keywords(function, names):
    name = function_name(function)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    parameters = signature.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [n for n in names if n not in accepted]
    if unknown:
        raise TypeError(f"sweep: {name}() has no parameter {', '.join(map(repr, unknown))} "
                        f"(its parameters: {', '.join(accepted) or 'none'})")
    missing = [p.name for p in parameters if p.default is p.empty and p.name not in names
               and p.kind is not p.VAR_POSITIONAL]
    if missing:
        raise TypeError(f"sweep: {name}() needs {', '.join(map(repr, missing))}, which params "
                        "does not give")


def _captured(function):
    """(name, value) of what ``function`` takes from outside: closure
    variables, the globals it names, defaults and a partial's arguments."""
    if isinstance(function, functools.partial):
        for i, value in enumerate(function.args):
            yield f"partial argument {i}", value
        yield from ((f"partial argument {k}", v) for k, v in function.keywords.items())
        function = function.func
    if inspect.ismethod(function):
        yield "self", function.__self__
        function = function.__func__
    if not inspect.isfunction(function):
        return
    closure = inspect.getclosurevars(function)
    yield from closure.nonlocals.items()
    yield from closure.globals.items()
    yield from ((f"default of {k}", v) for k, v in
                zip(reversed(function.__code__.co_varnames[:function.__code__.co_argcount]),
                    reversed(function.__defaults__ or ())))
    yield from ((f"default of {k}", v) for k, v in (function.__kwdefaults__ or {}).items())


def _brian_objects(value):
    import brian2
    from brian2.core.names import Nameable

    if isinstance(value, Nameable) and value is not brian2.defaultclock:
        yield value
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _brian_objects(item) if isinstance(item, Nameable) else ()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _brian_objects(item) if isinstance(item, Nameable) else ()


def check_function(function, names):
    """Refuse, before anything runs, a function that cannot be a sweep's:
    not callable, parameter names it does not take, or Brian2 objects built
    outside it (each run must build its own)."""
    if not callable(function):
        raise TypeError(f"sweep: function must be callable, not a {type(function).__name__}")
    name = function_name(function)
    _check_keywords(function, names)
    for variable, value in _captured(function):
        for obj in _brian_objects(value):
            raise TypeError(
                f"sweep: {name}() uses '{variable}', a Brian2 {type(obj).__name__} "
                f"('{obj.name}') built outside it. Each run must build its own model: create "
                "every Brian2 object inside the function, after start_scope()")


def pickle_function(function):
    """The function pickled for the workers (cloudpickle), or a `TypeError`
    saying that it cannot be sent to them."""
    import cloudpickle

    try:
        return cloudpickle.dumps(function)
    except Exception as exc:
        raise TypeError(f"sweep: {function_name(function)}() cannot be sent to the workers: "
                        f"pickling it fails ({type(exc).__name__}: {exc}). Define it at the "
                        "top level of a module or script, and let it build what it needs "
                        "itself") from exc
