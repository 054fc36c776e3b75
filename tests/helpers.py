"""Small helpers shared by our tests."""

import uuid

import numpy as np
from brian2 import Network, NeuronGroup, ms, prefs, start_scope


def exception_chain(exc):
    """The exception and its causes/contexts (Brian2 wraps errors in a
    BrianObjectException whose cause is the original error)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def cause_of_type(exc, cls):
    """The first exception of type ``cls`` in ``exc``'s chain (asserts there is one)."""
    matches = [e for e in exception_chain(exc) if isinstance(e, cls)]
    assert matches, f"no {cls.__name__} in {exception_chain(exc)!r}"
    return matches[0]


def full_message(exc):
    """The messages of the whole exception chain, one per line."""
    return "\n".join(str(e) for e in exception_chain(exc))


def both_loops(build):
    """``build()``'s result with the fused loop and with Brian2's loop."""
    results = []
    for fused in (True, False):
        start_scope()
        prefs.codegen.runtime.cppyy.fused_loop = fused
        results.append(build())
    return results


def valid_model_runs():
    """A model with new code (a fresh literal) compiles and runs correctly."""
    rate = 1.0 + uuid.uuid4().int % 1000 / 10000.0
    G = NeuronGroup(4, f"dv/dt = -{rate!r}*v/(2.5*ms) : 1", method="exact")
    G.v = "1 + i"
    Network(G).run(1 * ms)
    np.testing.assert_allclose(G.v[:], (1 + np.arange(4)) * np.exp(-rate / 2.5), rtol=1e-12)
