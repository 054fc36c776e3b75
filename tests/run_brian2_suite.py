"""Run Brian2's own test suite with the cppyy target.

    python tests/run_brian2_suite.py [--long] [--gsl] [--serial] [pytest args...]
    python tests/run_brian2_suite.py --codegen-independent [--gsl] [--serial] [pytest args...]

The first form runs Brian2's code-generation tests with the cppyy target
(through ``brian2.test``). The second runs Brian2's *codegen-independent*
tests (scheduling, several clocks, ``stop()``, reports, store/restore, ...)
with ``codegen.target = 'cppyy'``: ``brian2.test`` runs them with numpy only,
but for us they are the specification of ``Network.run``, which our fused
loop replaces (``brian2cppyy.loop.network_loop``).

Tests listed in ``tests/brian2_deselect.txt`` (one node id per line, each
followed by ``# reason``) are deselected. The tests run in xdist workers
(one per core) unless ``--serial`` is given; each worker loads
``brian2cppyy.pytest_plugin`` so that the target is registered there too.
``--cppyy-threads N`` (an option of ``brian2cppyy.pytest_plugin``) runs the
tests with N threads, every loop that may be split split (``make
test-brian2-threads`` does so for the network tests). Exits with 0 only if
every selected test passed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DESELECT_FILE = os.path.join(HERE, "brian2_deselect.txt")
FLAGS = ("--long", "--gsl", "--serial", "--codegen-independent")


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


def pytest_args(tests_dir, serial):
    """Arguments shared by both modes: our plugin, the deselect list, xdist."""
    # node ids are relative to the rootdir: Brian2's tests directory
    args = ["-p", "brian2cppyy.pytest_plugin", "-p", "no:cacheprovider", f"--rootdir={tests_dir}"]
    for node_id in read_deselect_file():
        args += ["--deselect", node_id]
    if not serial:
        args += ["-n", str(max(os.cpu_count() or 1, 1))]
    return args


def run_codegen_independent(args, test_gsl):
    """Brian2's codegen-independent tests with the cppyy target.

    Prepared as ``brian2.test`` prepares its runs (default preferences,
    warnings only, no unused-object warnings), with Brian2's own
    ``make_argv`` and ``PreferencePlugin``, which hands the preferences to
    the xdist workers; only the target differs. (This script is a process
    of its own, so nothing is restored afterwards.)"""
    import pytest
    from brian2 import prefs
    from brian2.tests import PreferencePlugin, make_argv
    from brian2.utils.logger import LOG_LEVELS, BrianLogger

    import brian2

    prefs.reset_to_defaults()
    BrianLogger.console_handler.setLevel(LOG_LEVELS["WARNING"])
    prefs["logging.warn_for_unused_objects"] = False
    prefs["codegen.target"] = "cppyy"
    prefs["codegen.string_expression_target"] = "cppyy"
    package_dir = os.path.dirname(brian2.__file__)
    argv = make_argv([package_dir], "codegen_independent and not long", test_GSL=test_gsl)
    print(f"Running Brian2's codegen-independent tests in {package_dir} with target cppyy")
    return pytest.main(argv + args, plugins=[PreferencePlugin(prefs)]) == 0


def main(argv):
    import brian2

    import brian2cppyy  # noqa: F401

    long_tests = "--long" in argv
    test_gsl = "--gsl" in argv
    serial = "--serial" in argv
    extra = [a for a in argv if a not in FLAGS]
    tests_dir = os.path.join(os.path.dirname(brian2.__file__), "tests")
    args = pytest_args(tests_dir, serial) + extra
    if "--codegen-independent" in argv:
        if long_tests:
            raise SystemExit("--long has no codegen-independent tests to add")
        ok = run_codegen_independent(args, test_gsl)
    else:
        ok = brian2.test(
            ["cppyy"],
            test_codegen_independent=False,
            long_tests=long_tests,
            test_GSL=test_gsl,
            test_in_parallel=[],
            additional_args=args,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
