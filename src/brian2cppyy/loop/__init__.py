"""The network run on the cppyy target: the fused C++ time-step loop, the
clock guard, and the re-use of unchanged code objects between runs."""
