"""Preference files that set ``codegen.runtime.cppyy.*``: our preferences are
registered before Brian2 reads ``~/.brian/user_preferences`` and
``./brian_preferences``.

Brian2 reads those files while ``import brian2`` runs (``brian2/only.py``:
``prefs.load_preferences()`` then ``prefs.do_validation()``). Values of a
category that is not registered yet are kept aside, but ``do_validation``
then refuses them ("Preference category 'codegen.runtime.cppyy' is
unregistered"), except for ``devices.*`` categories, so a file with a
``[codegen.runtime.cppyy]`` section made every ``import brian2`` fail.

The fix uses Python's documented import hook (`sys.meta_path`): when
``import brian2cppyy`` runs before Brian2 is imported (the documented order),
`install` adds a finder that waits for the module that creates Brian2's
preference object, ``brian2.core.preferences``. Right after that module has
run, and before Brian2 reads any file, it registers our preferences
(`brian2cppyy.preferences`); Brian2 then validates the file's values with our
validators, like its own. The finder removes itself on first use.

If Brian2 was imported first, Brian2 itself fails on such a file before our
package is imported, and nothing in this package can help: the guide says to
import ``brian2cppyy`` first.
"""

import sys
from importlib.abc import Loader, MetaPathFinder

__all__ = ["install", "uninstall"]

#: the module that creates ``brian2.prefs``
PREFERENCES_MODULE = "brian2.core.preferences"


class _RegisterAfterLoading(Loader):
    """Runs the real loader of Brian2's preference module, then registers
    the target's preferences."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        from . import preferences  # noqa: F401  (registers codegen.runtime.cppyy.*)

    def __getattr__(self, name):  # get_source, get_filename, ... of the real loader
        return getattr(self._loader, name)


class _PreferencesFinder(MetaPathFinder):
    """Finds ``brian2.core.preferences`` through the other finders and wraps
    its loader with `_RegisterAfterLoading`."""

    def find_spec(self, fullname, path, target=None):
        if fullname != PREFERENCES_MODULE:
            return None
        uninstall()
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisterAfterLoading(spec.loader)
                return spec
        return None


_finder = _PreferencesFinder()


def install():
    """Register our preferences as soon as Brian2's preference object exists
    (before Brian2 reads preference files), or now if it exists already."""
    if PREFERENCES_MODULE in sys.modules:
        from . import preferences  # noqa: F401
        return
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall():
    """Remove the import hook (it has done its work, or Brian2 failed to import)."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
