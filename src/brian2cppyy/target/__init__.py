"""The code-generation target: the code object Brian2 asks for, the code
generator, the templates and what a kernel is (its source, arguments, status
and faults)."""
