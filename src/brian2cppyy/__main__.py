"""``python -m brian2cppyy info``: diagnostics of the cppyy target (see
`brian2cppyy.diagnostics`)."""

import sys

from .diagnostics.command_line import main

if __name__ == "__main__":
    sys.exit(main())
