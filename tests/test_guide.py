"""Every ```python block of docs/guide.md runs, each in a fresh Python
process (as a user would run it), so that the guide cannot rot. The blocks
keep their simulated durations short themselves."""

import os
import re
import subprocess
import sys

import pytest

GUIDE = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "guide.md")
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: blocks that need what a test cannot have (a cluster): checked for syntax only
_NO_RUN_BLOCK = re.compile(r"^```python no-run\n(.*?)^```", re.S | re.M)
_PRINTS = re.compile(r"\n+prints\n\n```text\n(.*?)^```", re.S | re.M)


def python_blocks():
    """(code, quoted output or None) of each ```python block; the quoted output
    is a ```text block introduced by "prints" right after it."""
    with open(GUIDE) as f:
        text = f.read()
    blocks = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        quoted = _PRINTS.match(text, match.end())
        blocks.append(pytest.param(match.group(1), quoted.group(1) if quoted else None,
                                   id=f"line{line}"))
    return blocks


def test_guide_has_python_blocks():
    assert len(python_blocks()) >= 6


@pytest.mark.parametrize("code, quoted", python_blocks())
def test_guide_block_runs(code, quoted, tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1", TMPDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-5000:]}"
    assert proc.stdout.strip(), "every example prints something"
    if quoted is not None:
        # what the guide quotes is what the example prints (Cling numbers its
        # inputs, input_line_N: that number may differ)
        def normalise(s):
            return re.sub(r"input_line_\d+", "input_line_N", s).strip()

        assert normalise(proc.stdout) == normalise(quoted)


def test_no_run_blocks_are_valid_python():
    with open(GUIDE) as f:
        blocks = _NO_RUN_BLOCK.findall(f.read())
    assert blocks, "the guide's cluster snippets are marked 'python no-run'"
    for code in blocks:
        compile(code, "<guide no-run block>", "exec")


def test_compile_error_output_is_checked():
    assert any(quoted and "does not compile" in quoted
               for code, quoted in (p.values for p in python_blocks()))


def test_quoted_preference_error_matches():
    from brian2 import PreferenceError, prefs

    import brian2cppyy  # noqa: F401

    with open(GUIDE) as f:
        text = f.read()
    quoted = re.search(r"The last lines print\n\n```text\n(.*?)\n```", text, re.S).group(1)
    with pytest.raises(PreferenceError) as excinfo:
        prefs.codegen.runtime.cppyy.optimisation_level = 7
    assert str(excinfo.value) == quoted
