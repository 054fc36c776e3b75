"""What templates say about themselves (template_specifiers): parsed as
written, checked against what each template's code uses."""

import glob
import os
import subprocess
import sys
import textwrap

import pytest

import brian2cppyy
from brian2cppyy.cling import runtime_support
from brian2cppyy.target import template_specifiers

TEMPLATES = sorted(glob.glob(os.path.join(os.path.dirname(brian2cppyy.__file__), "target",
                                          "templates*", "*.cpp")))


def test_specifiers_are_read_from_jinja_comments():
    source = """{# USES_VARIABLES { N } #}
{# RETURNS_ARRAY { N int32 } #}
{# OWNER_CALLS { before_run: initialise_queue, after_run: tidy } #}
{# CPP_OBJECTS { _queue_capsule: CSpikeQueue } #}
{# INCLUDES { brian2cppyy/spike_queue.hpp, brian2cppyy/monitor_arrays.hpp } #}
{# PREPARES { brian2cppyy/spike_queue.hpp } #}
"""
    specifiers = template_specifiers.read(source, "example")
    assert specifiers.prepares == ("brian2cppyy/spike_queue.hpp",)
    assert specifiers.includes == ("brian2cppyy/spike_queue.hpp", "brian2cppyy/monitor_arrays.hpp")
    assert specifiers.returns == template_specifiers.ReturnedArray("N", "int32")
    assert specifiers.owner_calls == {"before_run": "initialise_queue", "after_run": "tidy"}
    assert specifiers.cpp_objects == {"_queue_capsule": "CSpikeQueue"}


def test_a_template_without_specifiers_has_none():
    specifiers = template_specifiers.read("{# USES_VARIABLES { N } #}", "plain")
    assert specifiers.returns is None
    assert specifiers.owner_calls == {} and specifiers.cpp_objects == {}
    assert specifiers.includes == () and specifiers.prepares == ()


@pytest.mark.parametrize("source", [
    "{# RETURNS_ARRAY { N } #}",
    "{# RETURNS_ARRAY { N int32 } #}{# RETURNS_ARRAY { M int32 } #}",
    "{# OWNER_CALLS { before_run initialise_queue } #}",
    "{# CPP_OBJECTS { _queue_capsule: } #}",
])
def test_malformed_specifiers_name_the_template(source):
    with pytest.raises(ValueError, match="Template 'broken'"):
        template_specifiers.read(source, "broken")


@pytest.mark.parametrize("path", TEMPLATES, ids=os.path.basename)
def test_each_template_declares_what_its_code_needs(path):
    """A template whose code writes ``_return_buffer`` declares RETURNS_ARRAY;
    one that uses a capsule variable declares its C++ type (and nothing else
    declares them); one that grows dynamic arrays or uses a spike queue
    names the runtime header (INCLUDES, which also has the overloads of
    runtime_support compiled), and none includes a header in its code (it
    would be parsed inside the kernel's namespace)."""
    with open(path) as f:
        source = f.read()
    specifiers = template_specifiers.read(source, os.path.basename(path))
    code = source.split("#}")[-1] if "{% block" not in source else source[source.index("{% block"):]
    assert ("_return_buffer" in code) == (specifiers.returns is not None)
    assert ("_queue_capsule" in code) == ("_queue_capsule" in specifiers.cpp_objects)
    assert "#include" not in code
    if not os.path.basename(path).startswith("_"):  # not a piece imported by others
        assert ("monitor_arrays::" in code) == (runtime_support.HEADER in specifiers.includes)
        assert ("_queue_capsule" in code) == ("brian2cppyy/spike_queue.hpp" in specifiers.includes)


def test_runs_once_names_blocks_and_before_and_after_run_always_do():
    once = template_specifiers.read("{# RUNS_ONCE { run } #}", "creation")
    assert once.runs_once == {"run"}
    assert [once.block_runs_once(b) for b in ("before_run", "run", "after_run")] == [True] * 3
    every_step = template_specifiers.read("{# USES_VARIABLES { N } #}", "stateupdate")
    assert [every_step.block_runs_once(b) for b in ("before_run", "run", "after_run")] == [
        True, False, True]
    with pytest.raises(ValueError, match="Template 'broken': 'step' in RUNS_ONCE is not a block"):
        template_specifiers.read("{# RUNS_ONCE { step } #}", "broken")


def test_creating_synapses_prepares_the_spike_queue_before_a_pathway_needs_it():
    """PREPARES of the synapse-creation templates: once the synapses exist
    (and the compile thread is idle), spike_queue.hpp's push_spikes is
    declared, before any pathway's code object was made (a fresh process:
    in this one an earlier test may have included the header)."""
    code = textwrap.dedent("""
        import brian2cppyy
        from brian2 import *
        from brian2cppyy.cling import compile_thread, runtime
        prefs.codegen.target = 'cppyy'
        G = NeuronGroup(5, 'v : 1', threshold='v > 1')
        S = Synapses(G, G, 'w : 1', on_pre='v += w')
        S.connect(p=0.5)
        compile_thread.wait_idle()
        print(runtime.read_values(['(int64_t)&brian2cppyy::push_spikes'])[0] != 0)
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "True"
