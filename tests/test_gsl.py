"""GSL integration (method='gsl', 'gsl_rk4', ...) with the cppyy target:
accuracy against the exact solution and the Cython target, method_options,
the integration statistics, integration errors, and the error that says what
to install when GSL is missing."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from brian2 import (
    prefs,
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    Hz,
    defaultclock,
    ms,
    run,
    second,
    start_scope,
    volt,
)
from brian2.codegen.runtime.GSLcython_rt import IntegrationError
from brian2.core.base import BrianObjectException
from brian2.stateupdaters.base import StateUpdateMethod

from brian2cppyy.target import gsl
from helpers import cause_of_type


#: set (e.g. by ``make test``, which installs GSL) to make a missing GSL a failure
REQUIRE_GSL_ENV = "BRIAN2CPPYY_REQUIRE_GSL"


def _gsl_traces():
    """Signs that GSL's development files are installed here, whether or not
    GSL loads: its header in a usual include directory or in
    ``prefs.GSL.directory`` (the runtime library alone, which other packages
    pull in, is not enough for method='gsl')."""
    traces = []
    directories = ["/usr/include", "/usr/local/include", os.path.join(sys.prefix, "include")]
    if prefs["GSL.directory"]:
        directories.append(prefs["GSL.directory"])
    for directory in directories:
        header = os.path.join(directory, "gsl", "gsl_odeiv2.h")
        if os.path.exists(header):
            traces.append(f"the header {header}")
    return traces


@pytest.fixture
def gsl_installed():
    """Skip a test that needs GSL only where GSL is truly absent; where it is
    installed (or required through BRIAN2CPPYY_REQUIRE_GSL) but does not load,
    the test fails with the reason."""
    try:
        gsl.load_gsl()
    except gsl.GSLUnavailableError as exc:
        traces = _gsl_traces()
        if traces:
            pytest.fail(f"GSL is installed ({'; '.join(traces)}) but does not load: {exc}")
        if os.environ.get(REQUIRE_GSL_ENV):
            pytest.fail(f"{REQUIRE_GSL_ENV} is set but GSL does not load: {exc}")
        pytest.skip("GSL is not installed (apt-get install libgsl-dev)")


needs_gsl = pytest.mark.usefixtures("gsl_installed")

TAUS = np.array([5.0, 10.0, 20.0]) * 1e-3  # seconds




def _decay_model(method="gsl", method_options=None, duration=10 * ms):
    """Two coupled linear equations with a known solution:
    v(t) = exp(-t/tau) + t/tau * exp(-t/tau) driven by w(t) = exp(-t/tau)."""
    G = NeuronGroup(
        len(TAUS),
        """dv/dt = (w - v)/tau : 1
           dw/dt = -w/tau : 1
           tau : second (constant)""",
        method=method,
        method_options=method_options,
    )
    G.tau = TAUS * second
    G.v = 1
    G.w = 1
    M = StateMonitor(G, ["v", "w"], record=True)
    run(duration)
    return G, M


def _exact(t):
    t = np.asarray(t)[None, :] / TAUS[:, None]
    return np.exp(-t) * (1 + t), np.exp(-t)


@needs_gsl
def test_gsl_matches_exact_solution():
    G, M = _decay_model()
    v, w = _exact(M.t_)
    np.testing.assert_allclose(M.w, w, rtol=0, atol=1e-5)
    np.testing.assert_allclose(M.v, v, rtol=0, atol=1e-5)
    v_end, w_end = _exact([0.010])
    np.testing.assert_allclose(G.v[:], v_end[:, 0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(G.w[:], w_end[:, 0], rtol=0, atol=1e-5)


@needs_gsl
def test_gsl_matches_cython_target(with_target):
    pytest.importorskip("Cython")

    def build():
        G, M = _decay_model(
            method="gsl_rkf45",
            method_options={"absolute_error": 1e-8, "save_step_count": True},
        )
        return np.array(M.v), np.array(M.w), np.array(G._step_count[:])

    v, w, steps = build()
    v_cy, w_cy, steps_cy = with_target("cython", build)
    np.testing.assert_allclose(v, v_cy, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w, w_cy, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(steps, steps_cy)


@needs_gsl
@pytest.mark.parametrize("method", ["gsl_rk2", "gsl_rk4", "gsl_rkf45", "gsl_rkck", "gsl_rk8pd"])
def test_every_integrator(method):
    G, M = _decay_model(method=method, duration=5 * ms)
    v, w = _exact(M.t_)
    np.testing.assert_allclose(M.v, v, rtol=0, atol=2e-5)
    np.testing.assert_allclose(M.w, w, rtol=0, atol=2e-5)
    code = str(G.state_updater.codeobj.code)
    assert f"gsl_odeiv2_step_{method[4:]}," in code


@needs_gsl
def test_smaller_absolute_error_gives_smaller_error():
    # dv/dt = (1 - v**2)/tau, v(0) = v0: v(t) = tanh(t/tau + artanh(v0))
    tau, v0 = 2e-3, -0.9
    bounds = (1e-5, 1e-8, 1e-10)
    errors, steps = [], []
    for bound in bounds:
        start_scope()
        defaultclock.dt = 0.5 * ms
        G = NeuronGroup(1, "dv/dt = (1 - v**2)/(2*ms) : 1", method="gsl",
                        method_options={"absolute_error": bound, "save_step_count": True})
        G.v = v0
        run(0 * ms)
        M = StateMonitor(G, ["v", "_step_count"], record=True)
        run(10 * ms)
        exact = np.tanh(M.t_ / tau + np.arctanh(v0))
        errors.append(np.max(np.abs(M.v[0] - exact)))
        steps.append(int(np.sum(M._step_count[0])))
    assert errors[0] > errors[1] > errors[2]
    assert steps[0] < steps[1] < steps[2]
    for error, bound in zip(errors, bounds):
        assert error < 10 * bound


@needs_gsl
def test_absolute_error_per_variable():
    G = NeuronGroup(
        1,
        """dv/dt = -v/(2*ms) : volt
           dw/dt = -w/(2*ms) : 1""",
        method="gsl",
        method_options={"absolute_error_per_variable": {"v": 1e-3 * volt}},
    )
    G.v = 1 * volt
    G.w = 1
    run(0 * ms)
    code = str(G.state_updater.codeobj.code)
    # GSL's y vector: v and w in the order Brian2's state updater numbers them
    assert "_GSL_scale_array[] = {0.001, 1e-06}" in code
    run(5 * ms)
    np.testing.assert_allclose(G.v[:] / volt, np.exp(-2.5), atol=1e-3)
    np.testing.assert_allclose(G.w[:], np.exp(-2.5), atol=1e-6)


@needs_gsl
def test_method_options_in_generated_code():
    adaptive = NeuronGroup(1, "dp/dt = 300*Hz : 1", method="gsl",
                           method_options={"adaptable_timestep": True})
    fixed = NeuronGroup(1, "dp/dt = 300*Hz : 1", method="gsl",
                        method_options={"adaptable_timestep": False, "max_steps": 7,
                                        "use_last_timestep": False})
    run(1 * ms)
    adaptive_code = str(adaptive.state_updater.codeobj.code)
    fixed_code = str(fixed.state_updater.codeobj.code)
    assert "if (gsl_odeiv2_driver_apply(" in adaptive_code
    assert "gsl_odeiv2_driver_reset_hstart" in adaptive_code
    assert "if (gsl_odeiv2_driver_apply_fixed_step(" in fixed_code
    assert "gsl_odeiv2_driver_set_nmax(_GSL_driver, 7);" in fixed_code
    assert "gsl_odeiv2_driver_reset(_GSL_driver);" in fixed_code
    assert "_last_timestep" in adaptive.variables
    assert "_last_timestep" not in fixed.variables
    np.testing.assert_allclose(adaptive.p[:], 0.3, rtol=1e-9)
    np.testing.assert_allclose(fixed.p[:], 0.3, rtol=1e-9)


@needs_gsl
def test_integration_statistics():
    defaultclock.dt = 1 * ms
    G = NeuronGroup(
        2,
        "dv/dt = -v/tau : 1\ntau : second (constant)",
        method="gsl",
        method_options={"save_step_count": True, "save_failed_steps": True},
    )
    G.tau = [0.1, 10] * ms
    G.v = 1
    run(0 * ms)
    M = StateMonitor(G, ["_step_count", "_failed_steps", "_last_timestep"], record=True,
                     when="end")
    run(3 * ms)
    # the stiff element needs more steps than the slow one
    assert np.all(M._step_count[0] > M._step_count[1])
    assert np.all(M._step_count[1] >= 1)
    assert np.all(M._failed_steps >= 0)
    # the step that GSL arrived at, capped at dt
    assert np.all(M._last_timestep[:] > 0)
    assert np.all(M._last_timestep[:] <= 1e-3 + 1e-15)
    np.testing.assert_allclose(G.v[:], np.exp([-30, -0.3]), atol=1e-5)


@needs_gsl
def test_synapses_and_refractoriness():
    source = SpikeGeneratorGroup(2, [0, 1, 0, 1], [1, 3, 6, 6.5] * ms)
    net = Network(source)
    groups, synapses, monitors = [], [], []
    for method in ("gsl", "exact"):
        target = NeuronGroup(
            2,
            "dv/dt = (1.5 - v)/(5*ms) : 1 (unless refractory)",
            threshold="v > 1",
            reset="v = 0",
            refractory=2 * ms,
            method=method,
        )
        S = Synapses(
            source,
            target,
            """dx/dt = -x/(10*ms) : 1 (clock-driven)
               w : 1""",
            on_pre="x += 1",
            method="gsl_rk8pd" if method == "gsl" else "exact",
        )
        S.connect()
        groups.append(target)
        synapses.append(S)
        monitors.append(SpikeMonitor(target))
        net.add(target, S, monitors[-1])
    net.run(20 * ms)
    assert "gsl_odeiv2_step_rk8pd" in str(synapses[0].state_updater.codeobj.code)
    np.testing.assert_allclose(synapses[0].x[:], synapses[1].x[:], rtol=0, atol=1e-6)
    assert np.all(synapses[0].x[:] > 0.3)
    assert monitors[0].num_spikes > 0
    np.testing.assert_array_equal(monitors[0].count[:], monitors[1].count[:])
    np.testing.assert_allclose(groups[0].v[:], groups[1].v[:], rtol=0, atol=1e-4)


@needs_gsl
def test_fixed_step_failure_raises_integration_error():
    defaultclock.dt = 1 * ms
    G = NeuronGroup(3, "dv/dt = -v/(0.01*ms) : 1", method="gsl",
                    method_options={"adaptable_timestep": False, "absolute_error": 1e-12})
    G.v = 1
    with pytest.raises(BrianObjectException) as info:
        run(2 * ms)
    error = cause_of_type(info.value, gsl.GSLIntegrationError)
    assert isinstance(error, IntegrationError)  # what the Cython target raises
    assert isinstance(error, RuntimeError)
    message = str(error)
    assert "element 0" in message and "t=0. s" in message
    assert "adaptable_timestep=False" in message


@needs_gsl
def test_max_steps_failure_and_recovery():
    G = NeuronGroup(2, "dv/dt = -v/tau : 1\ntau : second (constant)", method="gsl",
                    method_options={"max_steps": 2, "absolute_error": 1e-12})
    G.tau = [10, 0.01] * ms
    G.v = 1
    with pytest.raises(BrianObjectException) as info:
        run(1 * ms)
    message = str(cause_of_type(info.value, gsl.GSLIntegrationError))
    assert "element 1" in message and "max_steps=2" in message
    # the process goes on working
    start_scope()
    _, M = _decay_model(duration=1 * ms)
    assert np.all(np.isfinite(M.v))


@needs_gsl
def test_gsl_error_handler_does_not_abort():
    # a negative start step makes GSL call its error handler, which aborts the
    # process by default; the kernel records the message instead
    G = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", method="gsl")
    G.v = 1
    run(0 * ms)
    G._last_timestep = [1e-4, -1e-4]
    with pytest.raises(BrianObjectException) as info:
        run(1 * ms)
    message = str(cause_of_type(info.value, gsl.GSLIntegrationError))
    assert "element 1" in message
    assert "GSL reports: integration limits and/or step direction not consistent" in message
    G._last_timestep = [1e-4, 1e-4]
    run(1 * ms)
    assert np.all(G.v[:] < 1)


@needs_gsl
def test_user_function_and_constants():
    from brian2 import check_units, implementation

    @implementation("cpp", "double twice(double x) { return 2*x; }")
    @check_units(x=1, result=1)
    def twice(x):
        return 2 * x

    tau = 4 * ms
    G = NeuronGroup(2, "dv/dt = -twice(v)/tau + I/tau : 1\nI : 1", method="gsl")
    G.I = [0, 2]
    run(10 * ms)
    # v(t) = I/2 * (1 - exp(-2t/tau))
    np.testing.assert_allclose(G.v[:], [0, 1 - np.exp(-5)], atol=1e-5)


def test_brians_gsl_state_updaters_stay_registered():
    from brian2.stateupdaters.GSL import GSLStateUpdater

    for name in ("gsl", "gsl_rk2", "gsl_rk4", "gsl_rkf45", "gsl_rkck", "gsl_rk8pd"):
        assert type(StateUpdateMethod.stateupdaters[name]) is GSLStateUpdater


@needs_gsl
def test_brians_gsl_objects_work_as_methods():
    from brian2.stateupdaters.GSL import gsl_rk4

    G = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1", method=gsl_rk4)
    G.v = 1
    run(5 * ms)
    assert G.state_updater.codeobj.__class__ is gsl.GSLCppyyCodeObject
    np.testing.assert_allclose(G.v[:], np.exp(-0.5), rtol=1e-6)


@needs_gsl
def test_other_targets_keep_brians_choice(with_target):
    def container_class(target):
        def build():
            G = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1", method="gsl")
            container = StateUpdateMethod.apply_stateupdater(
                G.equations, {}, "gsl", group_name=G.name
            )
            try:
                return container.get_codeobj_class()
            except NotImplementedError as exc:
                return exc

        return with_target(target, build)

    assert container_class("cppyy") is gsl.GSLCppyyCodeObject
    assert isinstance(container_class("numpy"), NotImplementedError)
    from brian2.codegen.runtime.GSLcython_rt import GSLCythonCodeObject

    assert container_class("cython") is GSLCythonCodeObject


@pytest.fixture
def gsl_missing(monkeypatch):
    """Pretend that GSL is not installed: its library name points nowhere."""
    monkeypatch.setattr(gsl, "GSL_LIBRARIES", ("brian2cppyy_no_such_gsl",))
    monkeypatch.setattr(gsl, "_loaded_for", [])
    yield


def test_missing_gsl_gives_clear_error(gsl_missing):
    with pytest.raises(gsl.GSLUnavailableError):
        gsl.load_gsl()
    G = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", method="gsl")
    with pytest.raises(BrianObjectException) as info:
        run(1 * ms)
    message = str(cause_of_type(info.value, gsl.GSLUnavailableError))
    assert "brian2cppyy_no_such_gsl" in message and gsl.INSTALL_HINT in message


def test_missing_gsl_header_gives_clear_error(monkeypatch):
    # no libraries to load, so that the header is what fails, with or without GSL
    monkeypatch.setattr(gsl, "GSL_LIBRARIES", ())
    monkeypatch.setattr(gsl, "GSL_HEADERS", ("<gsl/brian2cppyy_no_such_header.h>",))
    monkeypatch.setattr(gsl, "_loaded_for", [])
    with pytest.raises(gsl.GSLUnavailableError) as info:
        gsl.load_gsl()
    assert "brian2cppyy_no_such_header.h" in str(info.value)
    assert "apt-get install libgsl-dev" in str(info.value)


def test_missing_gsl_affects_nothing_else(gsl_missing):
    G = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", method="exact")
    G.v = 1
    run(1 * ms)
    np.testing.assert_allclose(G.v[:], np.exp(-0.1), rtol=1e-12)


def test_import_and_model_building_do_not_load_gsl():
    code = textwrap.dedent(
        """
        import sys
        import brian2cppyy
        from brian2 import *
        prefs.codegen.target = 'cppyy'
        G = NeuronGroup(3, 'dv/dt = -v/(10*ms) : 1', method='gsl')
        assert 'cppyy' not in sys.modules, 'cppyy imported'
        if sys.platform.startswith('linux'):
            with open('/proc/self/maps') as f:
                assert 'libgsl' not in f.read(), 'GSL loaded'
        print('OK')
        """
    )
    env = dict(os.environ)
    env.pop("EXTRA_CLING_ARGS", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")
