"""Speed of brian2cppyy/vmath.hpp against libm, per function.

One concept: ns per element of a kernel-shaped loop,
``for (i...) y[i] = f(x[i])`` over an array of doubles (64 Ki by default, so
that it measures arithmetic, not memory bandwidth; ``--n 2000000`` for 2 M),
in one process, for
- ``vmath``: Cling, ``brian2cppyy::vmath::f`` (the loop a kernel would have),
- ``std``: Cling, the same loop calling ``std::f`` (scalar libm, what kernels
  call today),
- ``novec``: the vmath loop with vectorisation disabled
  (``#pragma clang loop vectorize(disable)``): vmath/novec shows that Cling
  did vectorise the vmath loop,
- vmath and std again in a unit with ``#pragma cling optimize(3)``,
- ``gcc``: the libm loop compiled by ``gcc -O3 -ffast-math -march=native``
  (glibc's vector libmvec where it has the function) and loaded with ctypes:
  the target to chase. Skipped without gcc.
The ratio std/vmath is the vectorisation gain: a loop that Cling did not
vectorise would run at about the scalar speed of libm or slower.

Run: ``PYTHONPATH=src python benchmarks/vmath_bench.py [--n 65536]
[--repeat 200] [--json out.json] [--functions exp,log]``. Each figure is the
minimum over the repeats, the variants timed round-robin (the machine is
shared; the minimum is the least disturbed run).
"""

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

#: name -> (vmath expression, libm expression, argument generator)
#: Arguments: x (double) and, for two-argument cases, e (double).
CASES = {
    "exp": ("vm::exp(x[i])", "exp(x[i])", lambda r, n: (r.uniform(-50, 50, n),)),
    "expm1": ("vm::expm1(x[i])", "expm1(x[i])", lambda r, n: (r.uniform(-1, 1, n),)),
    "exprel": (
        "vm::exprel(x[i])",
        "(x[i] == 0 ? 1.0 : expm1(x[i]) / x[i])",
        lambda r, n: (r.uniform(-5, 5, n),),
    ),
    "log": ("vm::log(x[i])", "log(x[i])", lambda r, n: (r.uniform(1e-3, 1e3, n),)),
    "log1p": ("vm::log1p(x[i])", "log1p(x[i])", lambda r, n: (r.uniform(-0.5, 2, n),)),
    "tanh": ("vm::tanh(x[i])", "tanh(x[i])", lambda r, n: (r.uniform(-5, 5, n),)),
    "pow": (
        "vm::pow(x[i], e[i])",
        "pow(x[i], e[i])",
        lambda r, n: (r.uniform(0.1, 10, n), r.uniform(-3, 3, n)),
    ),
    "pow(x,3)->powi": ("vm::powi(x[i], 3)", "pow(x[i], 3.0)", lambda r, n: (r.uniform(0.1, 10, n),)),
    "pow(x,1.5)->pow_half": (
        "vm::pow_half(x[i], 1)",
        "pow(x[i], 1.5)",
        lambda r, n: (r.uniform(0.1, 10, n),),
    ),
    # A Hodgkin-Huxley-like rate expression: exp, exprel and pow(exp, 4).
    "hh_rates": (
        "0.32 / vm::exprel((13.0 - x[i]) / 4.0) + 4.0 * vm::exp((10.0 - x[i]) / 18.0)"
        " + vm::powi(vm::exp(-x[i] / 80.0), 4)",
        "0.32 * ((13.0 - x[i]) / 4.0) / expm1((13.0 - x[i]) / 4.0)"
        " + 4.0 * exp((10.0 - x[i]) / 18.0) + pow(exp(-x[i] / 80.0), 4.0)",
        lambda r, n: (r.uniform(-80, 40, n) + 1e-9,),
    ),
}


def _symbol(name):
    return "".join(c if c.isalnum() else "_" for c in name)


def _signature(nargs):
    return "const double* x, const double* e, double* y, long n" if nargs == 2 else (
        "const double* x, double* y, long n")


def cling_source(namespace, optimize, nargs_of):
    lines = []
    if optimize:
        lines.append("#pragma cling optimize(3)")
    lines += ["#include <cmath>", '#include "brian2cppyy/vmath.hpp"',
              f"namespace {namespace} {{", "namespace vm = brian2cppyy::vmath;",
              "using std::exp; using std::expm1; using std::log; using std::log1p;"
              " using std::tanh; using std::pow;"]
    for name, (ours, libm, _) in CASES.items():
        sig = _signature(nargs_of[name])
        for kind, expr, pragma in (
            ("vmath", ours, ""),
            ("std", libm, ""),
            ("novec", ours, "#pragma clang loop vectorize(disable) interleave(disable)\n"),
        ):
            lines.append(
                f"void {kind}_{_symbol(name)}({sig}) {{\n{pragma}for (long i = 0; i < n; i++) "
                f"y[i] = {expr}; }}"
            )
    lines.append("}")
    return "\n".join(lines)


def gcc_library(nargs_of, workdir):
    """The libm loops compiled by gcc -O3 -ffast-math -march=native (None
    without gcc)."""
    if shutil.which("gcc") is None:
        return None
    lines = ["#include <math.h>"]
    for name, (_, libm, _) in CASES.items():
        lines.append(
            f"void std_{_symbol(name)}({_signature(nargs_of[name])}) {{ for (long i = 0; i < n; i++) "
            f"y[i] = {libm}; }}"
        )
    src = os.path.join(workdir, "libm_loops.c")
    lib = os.path.join(workdir, "libm_loops.so")
    with open(src, "w") as f:
        f.write("\n".join(lines))
    subprocess.run(["gcc", "-O3", "-ffast-math", "-march=native", "-fPIC", "-shared",
                    src, "-o", lib, "-lm"], check=True)
    return ctypes.CDLL(lib)


def best_times(calls, repeat):
    """Minimum time of each call, the calls interleaved round-robin (so that
    a disturbance on the shared machine hits all of them alike)."""
    best = {label: float("inf") for label in calls}
    for label, call in calls.items():
        call()  # Cling compiles a function at its first call
    for _ in range(repeat):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=65536,
                        help="elements per call (default: in cache)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", default=None)
    parser.add_argument("--functions", default=None,
                        help="comma-separated subset of: " + ", ".join(CASES))
    opts = parser.parse_args()
    if opts.functions:
        for name in set(CASES) - set(opts.functions.split(",")):
            del CASES[name]

    from brian2cppyy.cling import runtime

    cppyy = runtime.start()
    rng = np.random.default_rng(1)
    inputs = {name: gen(rng, opts.n) for name, (_, _, gen) in CASES.items()}
    nargs_of = {name: len(args) for name, args in inputs.items()}
    cppyy.cppdef(cling_source("vmath_bench_default", False, nargs_of))
    cppyy.cppdef(cling_source("vmath_bench_o3", True, nargs_of))
    with tempfile.TemporaryDirectory() as workdir:
        gcc = gcc_library(nargs_of, workdir)
        out = np.empty(opts.n)
        results = {}
        for name, args in inputs.items():
            sym = _symbol(name)
            calls = {}
            for label, ns in (("", cppyy.gbl.vmath_bench_default), (" O3", cppyy.gbl.vmath_bench_o3)):
                for kind in ("vmath", "std") if label else ("vmath", "novec", "std"):
                    fn = getattr(ns, f"{kind}_{sym}")
                    calls[kind + label] = lambda fn=fn, args=args: fn(*args, out, opts.n)
            if gcc is not None:
                fn = getattr(gcc, f"std_{sym}")
                ptrs = [a.ctypes.data_as(ctypes.c_void_p) for a in (*args, out)]
                calls["gcc"] = lambda fn=fn, ptrs=ptrs: fn(*ptrs, ctypes.c_long(opts.n))
            row = best_times(calls, opts.repeat)
            results[name] = {k: v / opts.n * 1e9 for k, v in row.items()}
    columns = list(next(iter(results.values())))
    print(f"ns per element, {opts.n} elements per call, best of {opts.repeat}")
    print("| function | " + " | ".join(columns) + " | std/vmath |")
    print("|---" * (len(columns) + 2) + "|")
    for name, row in results.items():
        cells = " | ".join(f"{row[c]:.2f}" for c in columns)
        print(f"| {name} | {cells} | {row['std'] / row['vmath']:.1f} |")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"n": opts.n, "repeat": opts.repeat, "ns_per_element": results}, f, indent=1)


if __name__ == "__main__":
    main()
