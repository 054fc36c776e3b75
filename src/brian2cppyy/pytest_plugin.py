"""A pytest plugin (``-p brian2cppyy.pytest_plugin``) that registers the
cppyy target in every pytest process, including xdist workers, so that
Brian2's own test suite can run in parallel with ``codegen.target='cppyy'``.

``--cppyy-threads N`` (an integer or ``auto``) runs the tests with the
preference ``codegen.runtime.cppyy.threads`` set to N, and every loop that
may be split over threads split whatever its size, so that Brian2's tests
check the threaded code. Brian2's test runner sets the preferences of every
test from the ones it was started with (also in xdist workers): the option
changes those."""

import pytest

import brian2cppyy  # noqa: F401  (registers the target and its preferences)

THREADS_PREFERENCE = "codegen.runtime.cppyy.threads"


def pytest_addoption(parser):
    parser.getgroup("brian2cppyy").addoption(
        "--cppyy-threads", default=None,
        help="run with codegen.runtime.cppyy.threads = this (an integer or 'auto'), "
             "splitting every loop that may be split")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    value = config.getoption("--cppyy-threads", None)
    if value is None:
        return
    value = value if value == "auto" else int(value)
    from brian2 import prefs

    from .loop import threads

    prefs[THREADS_PREFERENCE] = value  # what Brian2's plugin hands to xdist workers
    if hasattr(config, "brian_prefs"):  # what it sets before each test
        config.brian_prefs[THREADS_PREFERENCE] = value
    threads.set_split_threshold(0)
