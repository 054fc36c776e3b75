"""Random numbers: the cppyy target draws from the runtime device's buffers,
exactly like the Cython target, so that ``seed(n)`` gives bit-identical
results, and the random state can be saved and restored."""

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, StateMonitor, ms, run, seed
from brian2.devices.device import RANDOM_BUFFER_SIZE, get_device

#: more draws than one buffer holds, so that the buffer is refilled
N_DRAWS = 25000
assert N_DRAWS > RANDOM_BUFFER_SIZE


def _draws(seed_value, N=N_DRAWS):
    G = NeuronGroup(
        N,
        """v : 1
           x : 1
           p : integer
           q : integer""",
        name="draws*",
    )
    seed(seed_value)
    G.v = "rand()"
    G.x = "randn()"
    G.p = "poisson(3.5)"  # multiplication algorithm (lambda < 10)
    G.q = "poisson(25.0)"  # PTRS algorithm (lambda >= 10)
    return {name: np.array(G.state(name)[:]) for name in "vxpq"}


def _sde(seed_value):
    """A leaky SDE with two noise terms (the general case)."""
    G = NeuronGroup(
        2500,
        """dv/dt = -v/(10*ms) + 0.5*xi/sqrt(ms) : 1
           dw/dt = (v - w)/(5*ms) + 0.1*xi_2/sqrt(ms) : 1""",
        method="euler",
        name="noisy*",
    )
    seed(seed_value)
    run(0.6 * ms)  # 6 steps x 2500 neurons x 2 noise terms = 30000 randn draws
    return np.array(G.v[:]), np.array(G.w[:])


#: a power of two: sqrt(dt) and all the model's factors are powers of two, so
#: that every product in the update is exact and the result does not depend
#: on how a compiler contracts or reorders the floating-point operations
#: (Brian2 compiles Cython code with -ffast-math)
DT_EXACT = 2.0**-14


def _sde_exact(seed_value, leaky=False):
    from brian2 import second

    tau = 2.0**-11 * second  # noqa: F841  (used in the equations)
    if leaky:
        eqs = """dv/dt = -v/tau + 0.25*xi/sqrt(second) : 1
                 dw/dt = (v - w)/tau + 0.5*xi_2/sqrt(second) : 1"""
    else:
        # one addition per update: nothing to reorder
        eqs = """dv/dt = 0.25*xi/sqrt(second) : 1
                 dw/dt = 0.5*xi_2/sqrt(second) : 1"""
    G = NeuronGroup(2500, eqs, method="euler", name="noisy_exact*", dt=DT_EXACT * second)
    seed(seed_value)
    run(6 * DT_EXACT * second)  # 30000 randn draws
    return np.array(G.v[:]), np.array(G.w[:])


# -- bit-identical to the Cython target ---------------------------------------------


@pytest.fixture(scope="module")
def cython_draws():
    """The Cython target's draws (compiled once per module and worker)."""
    from brian2 import defaultclock, prefs, start_scope

    saved = (prefs.codegen.target, prefs.codegen.string_expression_target)
    start_scope()
    defaultclock.dt = 0.1 * ms
    prefs.codegen.target = "cython"
    prefs.codegen.string_expression_target = "cython"
    try:
        return {"draws": _draws(2024), "sde": _sde(77), "sde_exact": _sde_exact(78)}
    finally:
        prefs.codegen.target, prefs.codegen.string_expression_target = saved
        start_scope()


def test_rand_identical_to_cython(cython_draws):
    ours = _draws(2024)
    theirs = cython_draws["draws"]
    assert ours["v"].dtype == np.float64
    assert np.array_equal(ours["v"], theirs["v"])
    assert np.all((ours["v"] >= 0) & (ours["v"] < 1))
    assert len(np.unique(ours["v"])) == N_DRAWS


def test_randn_identical_to_cython(cython_draws):
    ours = _draws(2024)
    assert np.array_equal(ours["x"], cython_draws["draws"]["x"])
    assert abs(ours["x"].mean()) < 0.05 and abs(ours["x"].std() - 1) < 0.05


def test_poisson_identical_to_cython(cython_draws):
    ours = _draws(2024)
    theirs = cython_draws["draws"]
    assert np.array_equal(ours["p"], theirs["p"])
    assert np.array_equal(ours["q"], theirs["q"])
    assert abs(ours["p"].mean() - 3.5) < 0.1 and ours["p"].min() >= 0
    assert abs(ours["q"].mean() - 25.0) < 0.3 and ours["q"].min() >= 0
    assert abs(ours["q"].var() - 25.0) < 2.0


def test_stochastic_differential_equation_identical_to_cython(cython_draws):
    # xi and xi_2 draw the same numbers, in the same order, as with Cython
    v, w = _sde_exact(78)
    v_c, w_c = cython_draws["sde_exact"]
    assert np.array_equal(v, v_c)
    assert np.array_equal(w, w_c)
    assert np.std(v) > 1e-3 and np.std(w) > 1e-3
    assert not np.array_equal(v / 0.25, w / 0.5)


def test_stochastic_differential_equation_close_to_cython(cython_draws):
    # In general, the C++ compilers may round differently (Cython's code is
    # compiled with -ffast-math): equal up to the last bits
    v, w = _sde(77)
    v_c, w_c = cython_draws["sde"]
    np.testing.assert_allclose(v, v_c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w, w_c, rtol=1e-12, atol=1e-14)
    assert np.std(v) > 0.1


def _euler_reference(normals, xi_first):
    dt, tau = DT_EXACT, 2.0**-11
    sqrt_dt = dt**0.5
    v, w = np.zeros(2500), np.zeros(2500)
    for step in range(6):
        chunk = normals[step * 5000 : (step + 1) * 5000]
        first, second = sqrt_dt * chunk[0::2], sqrt_dt * chunk[1::2]
        xi, xi_2 = (first, second) if xi_first else (second, first)
        v_new = ((-dt / tau) * v + v) + 0.25 * xi
        w_new = (dt * ((1 / tau) * v - (1 / tau) * w) + w) + 0.5 * xi_2
        v, w = v_new, w_new
    return v, w


def test_stochastic_differential_equation_matches_reference():
    # The Euler-Maruyama update with the numbers of the randn stream, in plain
    # IEEE arithmetic: bit-identical (all products are exact). Per neuron and
    # step, xi and xi_2 are drawn one after the other; which one first is
    # up to Brian2's code generation (it varies with PYTHONHASHSEED).
    v, w = _sde_exact(5, leaky=True)
    rng = np.random.RandomState(5)
    normals = np.concatenate([rng.randn(RANDOM_BUFFER_SIZE), rng.randn(RANDOM_BUFFER_SIZE)])
    references = [_euler_reference(normals, xi_first) for xi_first in (True, False)]
    matching = [ref for ref in references if np.array_equal(v, ref[0])]
    assert len(matching) == 1
    assert np.array_equal(w, matching[0][1])


# -- the streams themselves -----------------------------------------------------------


def test_rand_and_randn_streams_match_numpy():
    # After seed(n) the buffers are filled from numpy's generator, 20000 at a
    # time, uniform and normal numbers from one stream, in the order of refill
    G = NeuronGroup(N_DRAWS, "v : 1\nx : 1")
    seed(31)
    G.v = "rand()"  # fills the uniform buffer twice
    G.x = "randn()"  # then the normal one twice
    rng = np.random.RandomState(31)
    uniform = np.concatenate([rng.rand(RANDOM_BUFFER_SIZE), rng.rand(RANDOM_BUFFER_SIZE)])
    normal = np.concatenate([rng.randn(RANDOM_BUFFER_SIZE), rng.randn(RANDOM_BUFFER_SIZE)])
    assert np.array_equal(G.v[:], uniform[:N_DRAWS])
    assert np.array_equal(G.x[:], normal[:N_DRAWS])


def test_rand_in_stateupdate_and_run_regularly():
    G = NeuronGroup(4, "v : 1\nx : 1")
    G.run_regularly("v = rand()\nx = randn()", when="start")
    M = StateMonitor(G, ["v", "x"], record=True, when="end")
    seed(8)
    run(1 * ms)
    rng = np.random.RandomState(8)
    uniform = rng.rand(RANDOM_BUFFER_SIZE)
    normal = rng.randn(RANDOM_BUFFER_SIZE)
    # per step: neurons 0..3 in order
    assert np.array_equal(M.v.T.ravel(), uniform[:40])
    assert np.array_equal(M.x.T.ravel(), normal[:40])


# -- reproducibility -------------------------------------------------------------------


def test_seed_reproducible():
    a = _draws(5, N=3000)
    b = _draws(5, N=3000)
    c = _draws(6, N=3000)
    for key in "vxpq":
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["v"], c["v"])
    assert not np.array_equal(a["x"], c["x"])


def test_seed_reproducible_sde():
    v1, w1 = _sde(3)
    v2, w2 = _sde(3)
    v3, _ = _sde(4)
    assert np.array_equal(v1, v2) and np.array_equal(w1, w2)
    assert not np.array_equal(v1, v3)


def test_random_state_get_set():
    device = get_device()
    G = NeuronGroup(15000, "v : 1\nx : 1")
    seed(42)
    G.v = "rand()"  # the uniform buffer is now 3/4 used
    G.x = "randn()"
    state = device.get_random_state()
    G.v = "rand()"  # refills the buffer on the way
    G.x = "randn()"
    v1, x1 = np.array(G.v[:]), np.array(G.x[:])
    G.v = "rand()"
    G.x = "randn()"
    v2 = np.array(G.v[:])
    assert not np.array_equal(v1, v2)

    device.set_random_state(state)
    G.v = "rand()"
    G.x = "randn()"
    assert np.array_equal(G.v[:], v1)
    assert np.array_equal(G.x[:], x1)
    # the continuation is the same, too
    G.v = "rand()"
    assert np.array_equal(G.v[:], v2)


def test_store_restore_restores_random_stream():
    G = NeuronGroup(
        200,
        """dv/dt = -v/(5*ms) + xi/sqrt(ms) : 1
           x : 1""",
        method="euler",
    )
    G.run_regularly("x = rand()", dt=0.5 * ms)
    M = StateMonitor(G, ["v", "x"], record=[0, 199])
    net = Network(G, M)
    seed(11)
    net.run(1 * ms)
    net.store()
    net.run(15 * ms)  # 150 steps x 200 neurons: refills the normal buffer
    v1, x1 = np.array(G.v[:]), np.array(G.x[:])
    mv1 = np.array(M.v)
    # disturb the random stream before restoring
    np.random.rand(17)
    G.x = "rand()"
    net.restore(restore_random_state=True)
    assert len(M.t) == 10
    net.run(15 * ms)
    assert np.array_equal(G.v[:], v1)
    assert np.array_equal(G.x[:], x1)
    assert np.array_equal(np.array(M.v), mv1)
    # and a fresh run from the stored state with another seed differs
    net.restore(restore_random_state=True)
    seed(12)
    net.run(15 * ms)
    assert not np.array_equal(G.v[:], v1)


def test_fixed_seed_values_are_brians_cython_values():
    """Brian2's own table of random values for a fixed seed (the test
    test_random_values_fixed_seed_numbers, which skips unknown targets):
    the cppyy target must give exactly the Cython target's entry."""
    from brian2 import NeuronGroup, ms, run, seed
    from brian2.tests.test_neurongroup import _random_values

    expected = _random_values[("RuntimeDevice", "cython", None)]
    G = NeuronGroup(100, "v1 : 1\nv2 : 1")
    seed(9876)
    G.v1 = "rand()"
    G.v2 = "randn()"
    run(0 * ms)
    np.testing.assert_allclose(G.v1[::20], expected[0])
    np.testing.assert_allclose(G.v2[::20], expected[1])


class _RefillFailure(Exception):
    pass


def _noisy_group(name):
    return NeuronGroup(50, "dv/dt = -v/(10*ms) + 0.1*xi/sqrt(ms) : 1",
                       method="euler", name=name)


@pytest.mark.parametrize("fused", [True, False])
def test_failing_refill_stops_the_kernel_and_names_the_object(monkeypatch, fused):
    """A failing random-buffer refill must stop the run at the failing kernel
    (no draws from the stale buffer), raise the callback's exception as the
    cause of an error naming the object, and leave the stream intact."""
    from brian2 import prefs
    from brian2.core.base import BrianObjectException

    prefs.codegen.runtime.cppyy.fused_loop = fused
    seed(11)
    expected = _noisy_group("refill_reference")
    Network(expected).run(1 * ms)

    seed(11)
    G = _noisy_group("refill_failing_group")
    net = Network(G)
    calls = []

    def failing_randn(*args):
        calls.append(args)
        raise _RefillFailure("no random numbers today")

    monkeypatch.setattr(np.random, "randn", failing_randn)
    with pytest.raises(BrianObjectException) as excinfo:
        net.run(1 * ms)
    assert "refill_failing_group" in str(excinfo.value)
    assert isinstance(excinfo.value.__cause__, _RefillFailure)
    assert len(calls) == 1  # stopped at the first failure
    assert float(net.t) == 0.0  # not a single step completed
    monkeypatch.undo()

    # the buffer was not consumed: the same run now gives the seeded values
    prefs.codegen.runtime.cppyy.fused_loop = fused
    net.run(1 * ms)
    np.testing.assert_array_equal(G.v[:], expected.v[:])
