"""Registration of the target and its preferences."""

import os
import subprocess
import sys
import textwrap

import pytest
from brian2.codegen.targets import codegen_targets
from brian2.core.preferences import PreferenceError, prefs

import brian2cppyy
from brian2cppyy.preferences import cling_flags


def _run_python(code, timeout=120):
    """Run ``code`` in a fresh interpreter; return the completed process."""
    env = dict(os.environ)
    env.pop("EXTRA_CLING_ARGS", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_target_registered():
    matching = [c for c in codegen_targets if getattr(c, "class_name", None) == "cppyy"]
    assert matching == [brian2cppyy.CppyyCodeObject]
    from brian2.codegen.codeobject import CodeObject

    assert issubclass(matching[0], CodeObject)


def test_target_selectable():
    # The preference validator of codegen.target accepts the new name
    prefs.codegen.target = "cppyy"
    assert prefs["codegen.target"] == "cppyy"
    from brian2.devices.device import get_device

    assert get_device().code_object_class() is brian2cppyy.CppyyCodeObject


def test_import_does_not_import_cppyy():
    proc = _run_python(
        """
        import brian2cppyy, sys
        from brian2 import *
        prefs.codegen.target = 'cppyy'
        G = NeuronGroup(3, 'v : 1')  # creating objects does not start Cling either
        assert 'cppyy' not in sys.modules, 'cppyy imported'
        print('OK')
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")


def test_preferences_registered_with_defaults():
    assert prefs["codegen.runtime.cppyy.optimisation_level"] is None
    assert prefs["codegen.runtime.cppyy.fast_math"] is None
    assert list(prefs["codegen.runtime.cppyy.extra_cling_args"]) == ["-march=native"]
    assert prefs["codegen.runtime.cppyy.dump_dir"] is None
    # attribute access works as for Brian2's own preferences
    assert prefs.codegen.runtime.cppyy.optimisation_level is None


def test_cling_flags_default():
    assert cling_flags() == "-O2 -march=native"


@pytest.mark.parametrize("level", [0, 1, 3, "s", "fast"])
def test_cling_start_flags_do_not_carry_the_kernel_level(level):
    """Cling ignores -O at start-up for generated code: the level reaches
    the kernels per unit (test_compiler_settings.py), not through the flags."""
    prefs.codegen.runtime.cppyy.optimisation_level = level
    prefs.codegen.runtime.cppyy.extra_cling_args = ["-march=native", "-DFOO=1"]
    assert cling_flags() == "-O2 -march=native -DFOO=1"


def test_cling_flags_without_extra_args():
    prefs.codegen.runtime.cppyy.extra_cling_args = []
    assert cling_flags() == "-O2"


_INVALID_VALUES = (
    [("optimisation_level", v) for v in (4, -1, 7, "O2", "O3", "2", 2.5)]
    # True == 1 and 2.0 == 2 in Python, but they are no optimisation levels
    + [("optimisation_level", v) for v in (True, False, 2.0, 3.0)]
    + [("fast_math", v) for v in (1, "yes", 0.0)]
    + [("extra_cling_args", v) for v in ("-march=native", [1, 2], ["-O1", None])]
    + [("fused_loop", "yes"), ("cache_dir", 3), ("dump_dir", 42), ("dump_dir", ["somewhere"])]
)


@pytest.mark.parametrize("name, bad", _INVALID_VALUES)
def test_invalid_preference_value_is_refused_naming_it(name, bad):
    """The error names the preference and the value; the preference keeps
    its value."""
    key = "codegen.runtime.cppyy." + name
    before = prefs[key]
    with pytest.raises(PreferenceError) as excinfo:
        prefs[key] = bad
    assert f"'{key}'" in str(excinfo.value) and repr(bad) in str(excinfo.value)
    assert prefs[key] == before


def test_extra_cling_args_reach_the_compiled_code():
    """A macro defined through the extra_cling_args preference is seen by the
    compiled kernels (observed in the results, not in the environment
    variable that the package itself sets)."""
    proc = _run_python(
        """
        import brian2cppyy
        from brian2 import *
        prefs.codegen.target = 'cppyy'
        prefs.codegen.string_expression_target = 'cppyy'
        prefs.codegen.runtime.cppyy.extra_cling_args = ['-march=native', '-DB2C_FLAG_PROBE=7']

        @implementation('cpp', 'double b2c_flag_probe() { return B2C_FLAG_PROBE; }')
        @check_units(result=1)
        def b2c_flag_probe():
            return -1.0

        G = NeuronGroup(3, 'v : 1')
        G.v = 'b2c_flag_probe() + i'
        print('VALUES=%r' % G.v[:].tolist())
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "VALUES=[7.0, 8.0, 9.0]" in proc.stdout, proc.stdout


def _run_python_in(directory, code, home):
    """Run ``code`` in a fresh interpreter whose working directory is
    ``directory`` and whose home directory is ``home`` (Brian2 reads
    ``./brian_preferences`` and ``~/.brian/user_preferences`` at import)."""
    env = dict(os.environ, HOME=str(home))
    env.pop("EXTRA_CLING_ARGS", None)
    package_parent = os.path.dirname(os.path.dirname(brian2cppyy.__file__))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(directory),
    )


_READ_BACK = """
    import brian2cppyy
    from brian2 import prefs
    print('FUSED=%r LEVEL=%r' % (prefs['codegen.runtime.cppyy.fused_loop'],
                                 prefs['codegen.runtime.cppyy.optimisation_level']))
    """


def test_preference_file_in_working_directory(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "brian_preferences").write_text(
        "[codegen.runtime.cppyy]\nfused_loop = False\noptimisation_level = 'fast'\n"
    )
    proc = _run_python_in(tmp_path, _READ_BACK, tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert "FUSED=False LEVEL='fast'" in proc.stdout


def test_user_preference_file(tmp_path):
    (tmp_path / "home" / ".brian").mkdir(parents=True)
    (tmp_path / "home" / ".brian" / "user_preferences").write_text(
        "codegen.runtime.cppyy.optimisation_level = 0\n"
    )
    proc = _run_python_in(tmp_path, _READ_BACK, tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert "FUSED=True LEVEL=0" in proc.stdout


def test_invalid_value_in_preference_file_is_named(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "brian_preferences").write_text(
        "[codegen.runtime.cppyy]\noptimisation_level = 7\n"
    )
    proc = _run_python_in(tmp_path, _READ_BACK, tmp_path / "home")
    assert proc.returncode != 0
    assert "codegen.runtime.cppyy.optimisation_level" in proc.stderr
    assert "0, 1, 2, 3" in proc.stderr  # our validator's message, not "unregistered"
