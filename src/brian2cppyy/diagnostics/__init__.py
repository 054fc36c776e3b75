"""Diagnostics of the cppyy target.

``python -m brian2cppyy info`` (`command_line`) prints a report (`report.info`,
rendered by `text.format_report`) that a child process (`child`) fills in:
Cling's start, the compiler settings requested and applied
(`compiler_probes`) and a self-test (`self_test`). Next to it:
`machine_code` (a kernel's machine code, read back) and `monitor_growth`
(the monitors' growth counters).
"""

from .report import info
from .self_test import SELF_TEST_PHASES, self_test
from .text import format_report

__all__ = ["info", "self_test", "format_report", "SELF_TEST_PHASES"]
