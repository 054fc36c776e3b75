// Cling's diagnostics of one compilation, captured for Python.
//
// Cling writes its errors and warnings to std::cerr. Python compiles through
// cppyy's C API (cppyy_compile, see brian2cppyy/cling/runtime.py) and reads
// them back: begin() sends std::cerr into a buffer, end() restores it and
// returns what was written. Compiled first, before the rest of the runtime,
// so that the runtime's own headers are compiled with their diagnostics
// captured too.
#ifndef BRIAN2CPPYY_CLING_DIAGNOSTICS_HPP
#define BRIAN2CPPYY_CLING_DIAGNOSTICS_HPP

#include <iostream>
#include <sstream>
#include <string>

namespace brian2cppyy {
namespace cling_diagnostics {

std::ostringstream captured;
std::streambuf* previous = nullptr;
std::string text;

void begin() {
    captured.str("");
    captured.clear();
    previous = std::cerr.rdbuf(captured.rdbuf());
}

const char* end() {
    std::cerr.rdbuf(previous);
    text = captured.str();
    return text.c_str();
}

}  // namespace cling_diagnostics
}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_CLING_DIAGNOSTICS_HPP
