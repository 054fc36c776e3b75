"""Diagnostics of the cppyy target: ``python -m brian2cppyy info``, the
machine code of kernels, and the monitors' growth counters."""

from .info import self_test

__all__ = ["self_test"]
