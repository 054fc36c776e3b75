"""Cling's precompiled header (PCH): which one Cling will use, and a check
before Cling starts, because Cling crashes the process (segmentation fault)
when its precompiled header is not one.

cppyy ships a PCH for its default flags; for other flags it builds one when
Cling starts (about a minute). We point it at our cache directory, which is
writable even where site-packages is not.
"""

import hashlib
import importlib.util
import os

from ..log import get_logger

__all__ = ["choose", "check", "expected_path", "problem"]

#: the first bytes of a Clang precompiled header
_PCH_MAGIC = b"CPCH"


def distribution_version(name, missing="not installed"):
    """The installed version of a distribution (``missing`` if it is not)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return missing


def _cppyy_dir():
    spec = importlib.util.find_spec("cppyy")
    if spec is None or spec.origin is None:
        return None
    return os.path.dirname(spec.origin)


def choose(flags):
    """Use cppyy's shipped precompiled header when there is one; otherwise
    let cppyy build it (once per set of Cling ``flags``) in our cache
    directory (sets ``CLING_STANDARD_PCH`` unless the user did)."""
    from ..preferences import register_cache_dir

    cache = register_cache_dir()
    if "CLING_STANDARD_PCH" in os.environ:
        return
    cppyy_dir = _cppyy_dir()
    if cppyy_dir is None:
        return
    if any(f.startswith("allDict.cxx.pch") for f in os.listdir(cppyy_dir)):
        return
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError as exc:
        get_logger(__name__).warn(
            f"brian2cppyy's cache directory {cache} cannot be created ({exc}); cppyy "
            "builds its precompiled header in its own place instead.", "pch_no_cache")
        return
    tag = hashlib.sha1(flags.encode()).hexdigest()[:12]
    os.environ["CLING_STANDARD_PCH"] = os.path.join(cache, f"allDict.cxx.{tag}.pch")


def expected_path():
    """The precompiled header Cling uses (or will use when it starts):
    ``CLING_STANDARD_PCH`` if set (``None`` if it is ``'none'``), else the one
    cppyy ships, else ``None`` (cppyy then builds one when it starts)."""
    env = os.environ.get("CLING_STANDARD_PCH")
    if env is not None:
        return None if env.lower() == "none" else env
    cppyy_dir = _cppyy_dir()
    if cppyy_dir is None:
        return None
    path = os.path.join(
        cppyy_dir, "allDict.cxx.pch." + distribution_version("cppyy-cling")
    )
    return path if os.path.exists(path) else None


def problem(path):
    """Why ``path`` is not a usable precompiled header (a string), or ``None``."""
    if not os.path.exists(path):
        return "the file does not exist"
    if not os.path.isfile(path):
        return "it is not a file"
    try:
        with open(path, "rb") as f:
            head = f.read(len(_PCH_MAGIC))
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if head != _PCH_MAGIC:
        return "it is not a Clang precompiled header (corrupt or truncated)"
    return None


def check():
    """A broken precompiled header in our cache directory is removed (cppyy
    builds it again); any other broken one stops Cling's start with a clear
    error instead of a crash."""
    from ..preferences import cache_dir

    path = expected_path()
    if path is None or not os.path.exists(path):
        return  # cppyy builds it
    reason = problem(path)
    if reason is None:
        return
    if os.path.dirname(os.path.abspath(path)) == cache_dir():
        get_logger(__name__).warn(
            f"The precompiled header {path} in brian2cppyy's cache is unusable "
            f"({reason}); cppyy builds it again (about a minute).",
            "pch_rebuilt",
        )
        os.remove(path)
        return
    raise RuntimeError(
        f"Cling cannot start: the precompiled header {path} is unusable "
        f"({reason}), and Cling would crash the process with it. Reinstall "
        "cppyy-cling, or fix or unset the CLING_STANDARD_PCH environment variable."
    )
