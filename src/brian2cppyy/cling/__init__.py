"""Cling, the C++ interpreter behind cppyy: starting it once per process,
the C++ runtime it loads, and compiling units in it."""
