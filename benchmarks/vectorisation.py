"""Is each workload's state update vectorised on the cppyy target?

    python benchmarks/vectorisation.py [WORKLOAD ...]

Builds each workload (benchmarks/workloads.py), runs ``net.run(0*ms)`` so that
every kernel is compiled, and reads the state updaters' machine code back
(``brian2cppyy.diagnostics.machine_code``): packed double instructions on 256-bit
registers mean Cling's loop vectoriser ran; a call on the kernel's main path
is a function that was not inlined (which keeps a loop scalar). Prints one
Markdown row per state updater. x86-64 with objdump only.
"""

import sys

import brian2cppyy  # noqa: F401  (registers the target)
from brian2 import ms, prefs

import workloads
from brian2cppyy.diagnostics import machine_code


def state_updaters(net):
    for obj in net.sorted_objects:
        for code_object in getattr(obj, "_code_objects", []):
            if code_object is not None and "stateupdater" in code_object.name:
                yield code_object


def main(names):
    if not machine_code.available():
        raise SystemExit("needs x86-64 and objdump")
    prefs.codegen.target = "cppyy"
    print("| workload | state updater | vectorised | packed | scalar | calls |")
    print("|---|---|---|---:|---:|---:|")
    for name in names or list(workloads.WORKLOADS):
        net, _ = workloads.WORKLOADS[name]()
        net.run(0 * ms)
        for code_object in state_updaters(net):
            code = machine_code.kernel_code(code_object)
            print(
                f"| {name} | {code_object.name} | {'yes' if code.vectorised else 'no'} "
                f"| {code.packed} | {code.scalar} | {len(code.calls)} |"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
