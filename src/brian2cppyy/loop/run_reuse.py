"""Re-runs of an unchanged network: a code object whose inputs have not
changed since the last run is used again instead of being generated anew.

Brian2 re-creates every code object in every ``before_run``
(``CodeRunner.create_default_code_object`` calls ``create_runner_codeobj``):
it analyses the abstract code, resolves the external names, checks the units,
translates the code, renders the template and builds the code object, even
when the kernel is then found in our in-process cache (`jit`). For a network
that is run again unchanged (``run()`` called many times in a notebook) that
cost is most of a short run.

While a cppyy network run prepares its objects (`reusing`, entered by the
fused loop around ``Network.before_run``), the ``create_runner_codeobj`` that
Brian2's ``CodeRunner`` calls (the name in ``brian2.groups.group`` is
replaced only while a cppyy run prepares its objects; even then it calls
Brian2's own function for every code object that is not a
``CppyyCodeObject``, and in any thread that is not preparing a cppyy run) first compares the code object's inputs with those of
the object it made in the previous run of the same `CodeRunner`:

* its arguments (abstract code, user code, template, template keywords,
  needed variables, indices, conditional writes, class) and the device;
* the owner's variables and the runner's own (the same `Variable` objects,
  the same indices);
* every preference;
* the resolved names: Brian2's ``Group.resolve_all`` runs again, with the
  arguments ``create_runner_codeobj`` gives it, at every run (external
  constants are re-resolved at every run, as in Brian2, with the same errors
  and warnings); each name must resolve to the same `Variable`, a
  `Constant` of the same value (bit for bit, the same dtype and unit) or the
  same `Function` with the same implementation for this target (code,
  namespace arrays, compiler keywords, dependencies);
* the device's storage of every array the kernels point to (the same array
  objects, so the same addresses the kernels' slots hold).

Only if all of these are equal is the previous code object returned; anything
else, and any failure of the comparison itself, makes Brian2 create the code
object as usual. Values that are read when a kernel runs (state variables,
``dt``, the sizes of dynamic arrays such as synapses) are not inputs: a kernel
reads them through its pointers. ``before_run`` of the objects still runs
completely (queues, unit checks, the ``before_run`` blocks of the code objects).

The previous code object is kept on its `CodeRunner` (attribute
``_brian2cppyy_reuse``), so it lives exactly as long as the runner.

Brian2 internals this module relies on (none is a documented hook; the
private ones are reached through `brian2cppyy.brian2_compat`, which lists them):
``brian2.groups.group.create_runner_codeobj`` (the module global that
``CodeRunner.create_default_code_object`` calls, replaced inside `reusing`), the
name ``f"{runner.name}_codeobject*"`` that the runner passes it,
``Group.codeobj_class``, ``Templater.<template>.variables``,
``Variables.indices``, ``prefs.prefs``; the algorithm followed for the names
to resolve is ``create_runner_codeobj``'s in ``brian2/codegen/codeobject.py``.
"""

import functools
import inspect
import threading

import numpy as np
from brian2.codegen.translation import analyse_identifiers
from brian2.core.functions import Function
from brian2.core.preferences import prefs
from brian2.core.variables import ArrayVariable, Constant, DynamicArrayVariable
from brian2.devices.device import get_device

from .. import brian2_compat
from ..target.codeobject import CppyyCodeObject
from ..log import get_logger
from .snapshots import Identity, snapshot

__all__ = ["reusing", "REUSE_ATTRIBUTE"]

logger = get_logger(__name__)

#: the attribute of a CodeRunner that keeps its last code object and inputs
REUSE_ATTRIBUTE = "_brian2cppyy_reuse"

_active = threading.local()  # .runners: name argument -> CodeRunner, during a run


class reusing:
    """Context manager: code objects of the runners among ``objects`` (a
    network's) may be reused while it is active (in this thread), i.e. around
    ``Network.before_run``."""

    def __init__(self, objects):
        self.runners = {f"{obj.name}_codeobject*": obj for obj in objects}
        self.prefs = _PrefsMemo()
        self.variables = {}  # the states of the Variables objects seen in this run
        self.enabled = prefs["codegen.runtime.cppyy.reuse_code_objects"]

    def __enter__(self):
        _wrapper_in_place(True)
        self._outer = getattr(_active, "run", None)
        _active.run = self
        return self

    def __exit__(self, *exc):
        _active.run = self._outer
        _wrapper_in_place(False)
        return False


_wrapper_lock = threading.Lock()
_wrapper_users = 0  # `reusing` blocks active in any thread
_brian2_create_runner_codeobj = brian2_compat.create_runner_codeobj()


def _wrapper_in_place(entering):
    """Put the wrapper of ``create_runner_codeobj`` in place while any cppyy
    run prepares its objects (in any thread), and Brian2's own function back
    after the last: runs on other targets never meet the wrapper."""
    global _wrapper_users
    with _wrapper_lock:
        _wrapper_users += 1 if entering else -1
        brian2_compat.set_create_runner_codeobj(
            _create_runner_codeobj if _wrapper_users else _brian2_create_runner_codeobj)


class _PrefsMemo:
    """The preferences' snapshot, taken once per run and compared once per
    snapshot of an entry."""

    def __init__(self):
        self._current = None
        self._compared = {}

    def current(self):
        if self._current is None:
            self._current = snapshot(dict(prefs.prefs))
        return self._current

    def unchanged(self, stored):
        key = id(stored)
        if key not in self._compared:
            self._compared[key] = stored == self.current()
        return self._compared[key]


class _Entry:
    """A code object and what it was made from."""

    __slots__ = ("codeobj", "arguments", "variables", "prefs", "names", "user_identifiers",
                 "resolved", "storage")


_signature = inspect.signature(_brian2_create_runner_codeobj)


@functools.wraps(_brian2_create_runner_codeobj)
def _create_runner_codeobj(*args, **kwds):
    """Brian2's ``create_runner_codeobj`` while a cppyy run prepares its
    objects: the previous code object if its inputs did not change (see the
    module docstring), else Brian2's."""
    run = getattr(_active, "run", None)
    if run is None or not run.enabled:
        return _brian2_create_runner_codeobj(*args, **kwds)
    call = _signature.bind(*args, **kwds)
    call.apply_defaults()
    return _create_or_reuse(run, _brian2_create_runner_codeobj, call.arguments)


def _create_or_reuse(run, original, arguments):
    runner = run.runners.get(arguments["name"])
    if runner is None or _codeobj_class(arguments) is not CppyyCodeObject:
        return original(**arguments)
    entry = getattr(runner, REUSE_ATTRIBUTE, None)
    if entry is not None:
        try:
            reusable = _unchanged(entry, run, arguments)
        except Exception as exc:  # noqa: BLE001 - Brian2 raises its own error below
            logger.debug(f"Not reusing the code object of '{runner.name}': {exc!r}", "reuse")
            reusable = False
        if reusable:
            logger.debug(f"Reusing code object '{entry.codeobj.name}' of '{runner.name}' "
                         "(nothing it depends on changed).", "reuse")
            return entry.codeobj
    codeobj = original(**arguments)
    setattr(runner, REUSE_ATTRIBUTE, _new_entry(codeobj, run, arguments))
    return codeobj


def _codeobj_class(arguments):
    """The code object class ``create_runner_codeobj`` will use."""
    codeobj_class = arguments["codeobj_class"]
    if codeobj_class is None:
        codeobj_class = arguments["group"].codeobj_class
    return get_device().code_object_class(codeobj_class)


def _arguments_state(arguments):
    """What ``create_runner_codeobj`` is given, but the group (the runner's,
    always the same) and the run namespace (its names are resolved anew)."""
    state = {key: value for key, value in arguments.items()
             if key not in ("group", "run_namespace", "additional_variables")}
    state["device"] = Identity(get_device())
    return snapshot(state)


def _variables_state(arguments, memo=None):
    """The owner's and the runner's variables: the same objects, the same
    indices (``memo``: the states of this run, by ``Variables`` object)."""
    return tuple(_one_variables_state(variables, memo)
                 for variables in (arguments["group"].variables,
                                   arguments["additional_variables"]))


def _one_variables_state(variables, memo):
    if variables is None:
        return None
    if memo is not None and id(variables) in memo:
        return memo[id(variables)][1]
    items = tuple((name, Identity(var)) for name, var in variables.items())
    state = (items, _indices_state(getattr(variables, "indices", {})))
    if memo is not None:
        memo[id(variables)] = (variables, state)  # the object keeps its id for the run
    return state


def _indices_state(indices):
    """The index of each variable. ``Variables.indices`` is a defaultdict
    that grows when a missing name is looked up: an entry with the default
    value means the same as no entry."""
    factory = getattr(indices, "default_factory", None)
    default = factory() if factory is not None else None
    return (default, snapshot(sorted((name, index) for name, index in indices.items()
                                     if index != default)))


def _names_to_resolve(arguments):
    """The names ``create_runner_codeobj`` resolves and those of them the
    user wrote (followed: brian2/codegen/codeobject.py)."""
    code, user_code = arguments["code"], arguments["user_code"]
    if user_code is None:
        user_code = code
    if isinstance(code, str):
        code, user_code = {None: code}, {None: user_code}
    all_variables = dict(arguments["group"].variables)
    if arguments["additional_variables"] is not None:
        all_variables.update(arguments["additional_variables"])
    identifiers, user_identifiers = set(), set()
    for block_code, block_user_code in zip(code.values(), user_code.values(), strict=True):
        _, known, unknown = analyse_identifiers(block_code, all_variables, recursive=True)
        identifiers |= known | unknown
        _, known, unknown = analyse_identifiers(block_user_code, all_variables, recursive=True)
        user_identifiers |= known | unknown
    template = getattr(_codeobj_class(arguments).templater, arguments["template_name"])
    names = identifiers | set(arguments["needed_variables"] or ()) | set(template.variables)
    return sorted(names), user_identifiers


def _resolve(arguments, names, user_identifiers):
    """The names resolved as ``create_runner_codeobj`` resolves them (the same
    call: the same errors and warnings)."""
    return arguments["group"].resolve_all(
        names, user_identifiers=user_identifiers,
        additional_variables=arguments["additional_variables"],
        run_namespace=arguments["run_namespace"],
    )


def _resolved_state(resolved, owner):
    return tuple((name, _object_state(resolved[name], owner)) for name in sorted(resolved))


def _object_state(obj, owner):
    """A resolved name: a constant by value, a function by implementation,
    anything else by identity."""
    if type(obj) is Constant:
        return ("constant", obj.name, obj.dim, snapshot(np.dtype(obj.dtype)), snapshot(obj.value))
    if isinstance(obj, Function):
        return ("function", Identity(obj), _implementation_state(obj, owner))
    return Identity(obj)


def _implementation_state(function, owner):
    """This target's implementation of ``function``: the object, its code,
    its namespace (the array objects, which the kernels point to), compiler
    keywords and dependencies."""
    impl = function.implementations[CppyyCodeObject]
    namespace = impl.get_namespace(owner) or {}
    for value in namespace.values():
        if getattr(value, "flags", None) is not None and not value.flags["C_CONTIGUOUS"]:
            raise ValueError("a non-contiguous namespace array is copied for the kernel")
    dependencies = tuple(
        (name, Identity(dep), _implementation_state(dep, owner))
        for name, dep in sorted((impl.dependencies or {}).items())
    )
    return (Identity(impl), snapshot(impl.get_code(owner)),
            tuple((key, Identity(value)) for key, value in sorted(namespace.items())),
            snapshot(impl.compiler_kwds), dependencies)


def _storage_state(codeobj):
    """Where the device keeps each array of the code object: the objects and,
    for fixed-size arrays, their address and length (the kernels' slots)."""
    device = codeobj.device
    state = []
    for name, var in sorted(codeobj.variables.items()):
        if not isinstance(var, ArrayVariable):
            continue
        storage = device.get_value(var, access_data=False)
        if isinstance(var, DynamicArrayVariable):
            state.append((name, Identity(storage)))
        else:
            state.append((name, Identity(storage), storage.ctypes.data, var.get_len()))
    return tuple(state)


def _new_entry(codeobj, run, arguments):
    """What to compare the next run's inputs with (``None``: never reuse)."""
    if not isinstance(codeobj, CppyyCodeObject):
        return None
    entry = _Entry()
    try:
        entry.names, entry.user_identifiers = _names_to_resolve(arguments)
        resolved = {name: codeobj.variables[name] for name in entry.names}
        entry.resolved = _resolved_state(resolved, codeobj.owner)
        entry.arguments = _arguments_state(arguments)
        entry.variables = _variables_state(arguments)
        entry.storage = _storage_state(codeobj)
    except Exception as exc:  # noqa: BLE001 - then it is created anew next time
        logger.debug(f"Code object '{codeobj.name}' will not be reused: {exc!r}", "reuse")
        return None
    entry.prefs = run.prefs.current()
    entry.codeobj = codeobj
    return entry


def _unchanged(entry, run, arguments):
    """Whether the code object of ``entry`` is what Brian2 would create now."""
    if not (entry.arguments == _arguments_state(arguments)
            and entry.variables == _variables_state(arguments, run.variables)
            and run.prefs.unchanged(entry.prefs)):
        return False
    resolved = _resolve(arguments, entry.names, entry.user_identifiers)
    if entry.resolved != _resolved_state(resolved, entry.codeobj.owner):
        return False
    return entry.storage == _storage_state(entry.codeobj)

