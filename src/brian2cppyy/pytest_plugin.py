"""A pytest plugin (``-p brian2cppyy.pytest_plugin``) that registers the
cppyy target in every pytest process, including xdist workers, so that
Brian2's own test suite can run in parallel with ``codegen.target='cppyy'``."""

import brian2cppyy  # noqa: F401  (registers the target and its preferences)
