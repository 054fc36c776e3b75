"""The compatibility layer (`brian2cppyy.brian2_compat`) matches the installed
Brian2: the functions it mirrors have the source it was written after, the
private attributes it lists exist and no other module uses them; and the
fused loop keeps Brian2's rules where the layer says it does (the clocks of a
step are Clock.same_time's, an empty network, code objects whose call does
more than their kernel)."""

import dataclasses
import logging
import pathlib
import re
import sys
import uuid

import brian2
import numpy as np
import pytest
from brian2 import (
    Clock, Network, NetworkOperation, NeuronGroup, ms, network_operation, prefs,
    volt,
)
from brian2.devices.device import get_device
from brian2.utils.logger import catch_logs

import brian2cppyy
from helpers import both_loops
from brian2cppyy import brian2_compat
from brian2cppyy.target import template_specifiers
from brian2cppyy.target.codeobject import CppyyCodeObject

PACKAGE = pathlib.Path(brian2cppyy.__file__).parent


def test_mirrored_brian2_functions_are_unchanged():
    """If this fails, Brian2 changed a function that brian2_compat (or the
    module its comment names) follows: read the change, follow it, then
    update the hash in MIRRORED."""
    changed = brian2_compat.changed_functions()
    assert changed == [], (
        f"brian2_compat follows Brian2 {brian2_compat.BRIAN2_VERSION}; the installed "
        f"Brian2 {brian2.__version__} has changed: {', '.join(changed)}")


def test_source_digest_sees_a_change_of_the_source(tmp_path, monkeypatch):
    """The check above can fail: one changed character changes the digest."""
    module = f"mirror_probe_{uuid.uuid4().hex}"
    path = tmp_path / f"{module}.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    digests = []
    for body in ("return a < b", "return a <= b"):
        path.write_text(f"class Clock:\n    def same_time(a, b):\n        {body}\n")
        sys.modules.pop(module, None)
        digests.append(brian2_compat.source_digest(f"{module}.Clock.same_time"))
    sys.modules.pop(module, None)
    assert digests[0] != digests[1]
    assert re.fullmatch("[0-9a-f]{64}", digests[0])


def _listed_attributes():
    """``(owner, [attribute, ...])`` of each name in PRIVATE_ATTRIBUTES."""
    for names, _, _ in brian2_compat.PRIVATE_ATTRIBUTES:
        for name in names.split(", "):
            owner, *path = name.removesuffix("()").split(".")
            if owner == "brian2":  # a module global
                owner, path = ".".join([owner] + path[:-1]), path[-1:]
            yield owner, path


def test_listed_private_attributes_exist_in_brian2():
    """Each attribute the table lists is there after a run of Brian2's own loop."""
    prefs.codegen.runtime.cppyy.fused_loop = False
    G = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1")
    net = Network(G)
    net.run(0.2 * ms)
    samples = {"Network": net, "Clock": G.clock, "BrianObject": G.state_updater, "Group": G,
               "Device": get_device(), "CacheKey": G.variables["v"], "Dimension": volt.dim,
               "brian2.groups.group": sys.modules["brian2.groups.group"]}
    listed = list(_listed_attributes())
    assert len(listed) >= 15
    for owner, path in listed:
        obj = samples[owner]
        for attribute in path:
            assert hasattr(obj, attribute), f"{owner}.{'.'.join(path)}"
            obj = getattr(obj, attribute)


def test_no_other_module_uses_the_private_attributes():
    """The private Brian2 attributes are used in brian2_compat only."""
    names = {path[-1] for _, path in _listed_attributes()}
    pattern = re.compile(r"(?<!compat)\.(" + "|".join(map(re.escape, names)) + r")\b")
    uses = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "brian2_compat.py":
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            code = re.sub(r"``[^`]*``", "", line)  # (names in docstrings)
            if pattern.search(code) and not code.lstrip().startswith("#"):
                uses.append(f"{path.relative_to(PACKAGE)}:{lineno}: {line.strip()}")
    assert uses == []


def test_every_divergence_has_a_reason():
    assert len(brian2_compat.DIVERGENCES) >= 8
    for difference, reason in brian2_compat.DIVERGENCES:
        assert difference.strip() and reason.strip()



def test_clocks_of_a_step_are_clock_same_times():
    """Drifting clocks (dt 0.1 ms and 0.100003 ms: the same time for the first
    steps, within epsilon_dt of the smaller dt, then apart) and a third one:
    the fused loop runs the same clocks together, in the same order, as
    Brian2's loop (an operation scheduled earlier runs first only when its
    clock is in the same step)."""

    def build():
        calls = []

        def recorder(name):
            return lambda: calls.append(name)

        ops = [NetworkOperation(recorder(name), clock=clock, when=when)
               for name, clock, when in (
                   ("a", Clock(dt=0.1 * ms, name="a_clock"), "end"),
                   ("b", Clock(dt=0.100003 * ms, name="b_clock"), "start"),
                   ("c", Clock(dt=0.3 * ms, name="c_clock"), "start"))]
        net = Network(*ops)
        net.run(3 * ms)
        return calls, float(net.t)

    fused, python = both_loops(build)
    assert fused == python
    calls = fused[0]
    assert calls[:3] == ["b", "c", "a"]  # together at t=0
    assert "".join(calls).count("ba") > 0 and "".join(calls).count("ab") > 0


def test_a_clock_with_another_epsilon_dt_runs_in_brians_loop():
    clock = Clock(dt=0.1 * ms, name=f"eps_{uuid.uuid4().hex}")
    clock.epsilon_dt = 1e-3
    G = NeuronGroup(2, "dv/dt = 1/ms : 1", clock=clock, method="euler")
    net = Network(G)
    with catch_logs(log_level=logging.INFO, only_from=("brian2cppyy",)) as logs:
        net.run(0.3 * ms)
    assert G.v[:] == pytest.approx([0.3, 0.3])
    assert [(level, msg) for level, _, msg in logs] == [
        ("INFO", f"Network '{net.name}' runs in Brian2's Python loop, not the fused C++ "
                 f"loop: clock '{clock.name}' has epsilon_dt=0.001 (the fused loop's "
                 "same-time test uses Clock's 0.0001).")]


def test_an_empty_network_does_what_brians_does():
    def build():
        net = Network(name=f"empty_{uuid.uuid4().hex}")
        with catch_logs(log_level=logging.DEBUG) as logs:
            net.run(1 * ms)
        return float(net.t), [msg.replace(net.name, "NET") for _, name, msg in logs
                              if name.startswith("brian2.core.network")]

    fused, python = both_loops(build)
    assert fused == python
    assert fused[0] == 0.0 and any("0 objects" in msg for msg in fused[1])


@pytest.mark.parametrize("specifier", ["owner_calls", "returns"])
def test_a_run_block_that_asks_more_than_its_kernel_runs_like_run_block(
        specifier, monkeypatch):
    """A template's OWNER_CALLS or RETURNS_ARRAY on its run block is honoured
    by the fused loop as by CppyyCodeObject.run_block: the code object is
    called from Python, at its place in every step."""
    read = template_specifiers.read
    extra = {"owner_calls": {"run": "_count_step"},
             "returns": template_specifiers.ReturnedArray("N", "int32")}[specifier]

    def read_with_extra(source, name="?"):
        specifiers = read(source, name)
        if name == "stateupdate":
            specifiers = dataclasses.replace(specifiers, **{specifier: extra})
        return specifiers

    run_blocks = []
    run_block = CppyyCodeObject.run_block

    def counting_run_block(self, block):
        if block == "run" and self.template_name == "stateupdate":
            run_blocks.append(self.name)
        return run_block(self, block)

    monkeypatch.setattr(template_specifiers, "read", read_with_extra)
    monkeypatch.setattr(CppyyCodeObject, "run_block", counting_run_block)

    def build():
        run_blocks.clear()
        G = NeuronGroup(2, "dv/dt = 1/ms : 1", method="euler")
        owner_calls = []
        G._count_step = lambda: owner_calls.append(float(G.t[:]))

        @network_operation(when="end")
        def check():
            pass

        Network(G, check).run(0.3 * ms)
        return len(run_blocks), owner_calls, list(G.v[:])

    fused, python = both_loops(build)
    assert fused == python
    assert fused[0] == 3
    assert fused[1] == (pytest.approx([0, 0.0001, 0.0002]) if specifier == "owner_calls"
                        else [])
    np.testing.assert_allclose(fused[2], [0.3, 0.3])
