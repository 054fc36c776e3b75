"""Run Brian2's own test suite with the cppyy target.

    python tests/run_brian2_suite.py [--long] [--gsl] [--serial] [pytest args...]

Tests listed in ``tests/brian2_deselect.txt`` (one node id per line, each
followed by ``# reason``) are deselected. The tests run in xdist workers
(one per core) unless ``--serial`` is given; each worker loads
``brian2cppyy.pytest_plugin`` so that the target is registered there too.
Exits with 0 only if every selected test passed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DESELECT_FILE = os.path.join(HERE, "brian2_deselect.txt")


def read_deselect_file(path=DESELECT_FILE):
    """The node ids in the deselect file; a line without a reason is an error."""
    node_ids = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            node_id, sep, reason = line.partition("#")
            if not sep or not reason.strip():
                raise SystemExit(f"{path}:{lineno}: every deselected test needs a '# reason'")
            node_ids.append(node_id.strip())
    return node_ids


def main(argv):
    import brian2

    import brian2cppyy  # noqa: F401

    long_tests = "--long" in argv
    test_gsl = "--gsl" in argv
    serial = "--serial" in argv
    extra = [a for a in argv if a not in ("--long", "--gsl", "--serial")]
    tests_dir = os.path.join(os.path.dirname(brian2.__file__), "tests")
    # node ids are relative to the rootdir: Brian2's tests directory
    args = ["-p", "brian2cppyy.pytest_plugin", "-p", "no:cacheprovider", f"--rootdir={tests_dir}"]
    for node_id in read_deselect_file():
        args += ["--deselect", node_id]
    if not serial:
        args += ["-n", str(max(os.cpu_count() or 1, 1))]
    ok = brian2.test(
        ["cppyy"],
        test_codegen_independent=False,
        long_tests=long_tests,
        test_GSL=test_gsl,
        test_in_parallel=[],
        additional_args=args + extra,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
