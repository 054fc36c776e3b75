"""Micro-benchmark of vmath_trig.hpp: ns per element of ``y[i] = f(a[i])``.

Compares, for sin, cos and sqrt, side by side in one process:

* ``vmath``: brian2cppyy::vmath::f in a Cling loop, compiled like a kernel
  (brian2cppyy.cling.jit.compile_unit, Cling's default -O2);
* ``std``: std::f in the same kind of Cling loop (glibc's scalar libm);
* ``gcc``: the same loop in C compiled by ``gcc -O3 -ffast-math -march=native``
  (vectorised with glibc's libmvec), loaded with ctypes -- if gcc is found;
* for sin, ``vmath-cw``: our sin with a Cody-Waite reduction instead of
  Payne-Hanek (accurate only for |x| below about 2**20) -- what the
  whole-range reduction costs;
* for sin, ``branch``: Cody-Waite below 2**20 and an out-of-line call of
  vmath::sin above, i.e. Payne-Hanek kept off the common path by a branch
  (the loop is then not vectorised).

Each implementation runs ``--rounds`` times on ``--size`` elements, the
implementations alternating; the table shows the median ns/element of
thread CPU time. With
``--disasm`` it also prints, per Cling loop, whether its machine code uses
256-bit registers and how many calls it makes (needs objdump).

    .venv/bin/python benchmarks/vmath_trig.py [--size 1000000] [--rounds 7] [--save]

``--save`` also writes the table to ``benchmarks/results/<date>-vmath_trig.md``.

Absolute numbers depend on the (shared) machine; the ratios are the claim.
"""

import argparse
import ctypes
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from brian2cppyy.cling import runtime, jit

LOOP = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)

#: Cling expressions per implementation and function
CLING = {
    "vmath": "brian2cppyy::vmath::{f}(a[i])",
    "std": "std::{f}(a[i])",
}

#: sin with a Cody-Waite reduction alone (pi/2 in three parts; the first
#: product exact with one FMA, the second with TwoProduct): accurate only for
#: |x| below about 2**20, for comparison with the Payne-Hanek reduction that
#: vmath::sin uses for every |x| >= 1/2
CODY_WAITE_ONLY = r"""
using namespace brian2cppyy::vmath::trig_detail;
static inline __attribute__((always_inline)) Reduced reduce_cody_waite(double ax) {
    double k = __builtin_rint(ax * TWO_OVER_PI);
    double t = __builtin_fma(-k, PIO2_1, ax);  // exact
    Pair p = two_prod(k, PIO2_2);
    Pair s = two_sum(t, -p.hi);
    double lo = (s.lo - p.lo) - k * PIO2_3;
    Pair r = fast_two_sum(s.hi, lo);
    return {r.hi, r.lo, mod4(k)};
}
static inline __attribute__((always_inline)) double sin_cody_waite_only(double x) {
    const double ax = __builtin_fabs(x);
    Reduced r = reduce_cody_waite(ax);
    double s = sin_kernel(r.hi, r.lo);
    double c = cos_kernel(r.hi, r.lo);
    double v = negate_if(r.q >= 2.0, (r.q == 1.0 || r.q == 3.0) ? c : s);
    return from_bits(bits_of(v) ^ (bits_of(x) & 0x8000000000000000ULL));
}
// the other way to keep Payne-Hanek off the common path: a branch to an
// out-of-line call (which stops the loop vectoriser)
__attribute__((noinline)) double sin_out_of_line(double x) { return brian2cppyy::vmath::sin(x); }
static inline __attribute__((always_inline)) double sin_branch(double x) {
    return __builtin_fabs(x) < 0x1p20 ? sin_cody_waite_only(x) : sin_out_of_line(x);
}
"""

C_SOURCE = """
#include <math.h>
#include <stddef.h>
#define LOOP(f) void loop_##f(const double* restrict a, double* restrict y, size_t n) \\
    { for (size_t i = 0; i < n; i++) y[i] = f(a[i]); }
LOOP(sin)
LOOP(cos)
LOOP(sqrt)
"""

GCC_FLAGS = ["-O3", "-ffast-math", "-march=native"]


def cling_loops():
    """{(impl, f): (callable, address)} of the Cling loops, compiled like
    kernels: one unit through brian2cppyy.cling.jit (its usual optimisation level)."""
    cppyy = runtime.start()
    exprs = {(impl, f): e.format(f=f) for impl, e in CLING.items() for f in ("sin", "cos", "sqrt")}
    exprs["vmath-cw", "sin"] = "sin_cody_waite_only(a[i])"
    exprs["branch", "sin"] = "sin_branch(a[i])"
    lines = [CODY_WAITE_ONLY]
    for j, expr in enumerate(exprs.values()):
        lines += [
            f"void loop{j}(const double* __restrict a, double* __restrict y, size_t n) "
            f"{{ for (size_t i = 0; i < n; i++) {{ y[i] = {expr}; }} }}",
            f"intptr_t address{j} = reinterpret_cast<intptr_t>(&loop{j});",
        ]
    unit = jit.compile_unit("\n".join(lines),
                            preamble='#include <cmath>\n#include "brian2cppyy/vmath_trig.hpp"')
    namespace = getattr(cppyy.gbl, unit)
    return {
        key: (LOOP(getattr(namespace, f"address{j}")), getattr(namespace, f"address{j}"))
        for j, key in enumerate(exprs)
    }


def gcc_loops(workdir):
    """{('gcc', f): (callable, None)}, or {} without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return {}
    source = Path(workdir) / "loops.c"
    library = Path(workdir) / "loops.so"
    source.write_text(C_SOURCE)
    subprocess.run([gcc, *GCC_FLAGS, "-fPIC", "-shared", str(source), "-o", str(library), "-lm"],
                   check=True)
    lib = ctypes.CDLL(str(library))
    return {("gcc", f): (LOOP(ctypes.cast(getattr(lib, f"loop_{f}"), ctypes.c_void_p).value), None)
            for f in ("sin", "cos", "sqrt")}


def inputs(size, seed=1):
    rng = np.random.default_rng(seed)
    whole = np.ldexp(rng.uniform(1, 2, size), rng.integers(-1022, 1024, size))
    return {
        "sin": {"[-10, 10]": rng.uniform(-10, 10, size), "[-1e4, 1e4]": rng.uniform(-1e4, 1e4, size),
                "whole range": whole},
        "cos": {"[-10, 10]": rng.uniform(-10, 10, size), "whole range": whole},
        "sqrt": {"[0, 100]": rng.uniform(0, 100, size)},
    }


def time_loop(function, values, out):
    """CPU time of this thread for one call (less disturbed than wall time
    by other processes on a shared machine)."""
    start = time.thread_time()
    function(values.ctypes.data, out.ctypes.data, values.size)
    return time.thread_time() - start


def measure(loops, data, rounds):
    """{(f, range, impl): median ns/element}, implementations alternating."""
    samples = {}
    for f, ranges in data.items():
        impls = [impl for (impl, g) in loops if g == f]
        for label, values in ranges.items():
            out = np.empty_like(values)
            for impl in impls:  # warm-up
                time_loop(loops[impl, f][0], values, out)
            for _ in range(rounds):
                for impl in impls:
                    t = time_loop(loops[impl, f][0], values, out)
                    samples.setdefault((f, label, impl), []).append(t / values.size * 1e9)
    return {key: statistics.median(v) for key, v in samples.items()}


def disassembly_summary(address, nbytes=12000):
    """'ymm/zmm, no calls' style summary of the loop function at ``address``."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return "objdump not found"
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(ctypes.string_at(address, nbytes))
        handle.flush()
        text = subprocess.run([objdump, "-D", "-b", "binary", "-m", "i386:x86-64", handle.name],
                              capture_output=True, text=True).stdout
    body = text[: text.find("\tret") if "\tret" in text else len(text)]
    return (f"{body.count('ymm')} ymm and {body.count('zmm')} zmm operands, "
            f"{body.count('call')} calls, "
            f"{body.count('vsqrtpd')} vsqrtpd")


def table(results, rounds, size):
    """The Markdown table (a list of lines) of the medians."""
    impls = [i for i in ("vmath", "vmath-cw", "branch", "std", "gcc")
             if any(k[2] == i for k in results)]
    lines = [
        f"ns/element, median of {rounds} (thread CPU time), {size} elements; "
        f"gcc: {' '.join(GCC_FLAGS)} (glibc libmvec)",
        "",
        "| function | inputs | " + " | ".join(impls) + " | std / vmath |",
        "|---" * (len(impls) + 3) + "|",
    ]
    for f, label in dict.fromkeys((k[0], k[1]) for k in results):
        cells = [f"{results[f, label, i]:.2f}" if (f, label, i) in results else "" for i in impls]
        ratio = results[f, label, "std"] / results[f, label, "vmath"]
        lines.append(f"| {f} | {label} | " + " | ".join(cells) + f" | {ratio:.1f}x |")
    return lines


def machine():
    """CPU model and load average, for the record."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--disasm", action="store_true")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        loops = cling_loops() | gcc_loops(workdir)
        results = measure(loops, inputs(args.size), args.rounds)
    lines = table(results, args.rounds, args.size) + ["", f"Machine: {machine()}."]
    if args.disasm:
        lines += ["", "Machine code of the Cling loops:", ""]
        for (impl, f), (_, address) in loops.items():
            if address is not None:
                lines.append(f"- {impl} {f}: {disassembly_summary(address)}")
    print("\n".join(lines))
    if args.save:
        path = Path(__file__).parent / "results" / f"{datetime.date.today()}-vmath_trig.md"
        path.write_text("# vmath_trig.hpp micro-benchmark\n\n" + "\n".join(lines) + "\n")
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
