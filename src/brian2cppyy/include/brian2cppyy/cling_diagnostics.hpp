// Cling's diagnostics of one compilation, captured for Python.
//
// Cling writes its errors and warnings to std::cerr. Python compiles through
// cppyy's C API (cppyy_compile, see brian2cppyy/cling/runtime.py) and reads
// them back: begin() sends std::cerr into a buffer, end() restores it and
// returns what was written. Compiled first, before the rest of the runtime,
// so that the runtime's own headers are compiled with their diagnostics
// captured too. A stream buffer of our own, on a malloc'ed array: an
// std::ostringstream made Cling's start 25 ms longer.
#ifndef BRIAN2CPPYY_CLING_DIAGNOSTICS_HPP
#define BRIAN2CPPYY_CLING_DIAGNOSTICS_HPP

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <streambuf>

namespace brian2cppyy {
namespace cling_diagnostics {

class Buffer : public std::streambuf {
public:
    // the text written since clear(), NUL-terminated
    const char* text() const { return data_ ? data_ : ""; }
    void clear() { size_ = 0; append("", 0); }

protected:
    int_type overflow(int_type c) override {
        if (c != traits_type::eof()) {
            const char ch = traits_type::to_char_type(c);
            append(&ch, 1);
        }
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        append(s, static_cast<size_t>(n));
        return n;
    }

private:
    void append(const char* s, size_t n) {
        if (size_ + n + 1 > capacity_) {
            const size_t capacity = 2 * (size_ + n + 1);
            char* data = static_cast<char*>(std::realloc(data_, capacity));
            if (!data)
                return;  // out of memory: the message is cut
            data_ = data;
            capacity_ = capacity;
        }
        std::memcpy(data_ + size_, s, n);
        size_ += n;
        data_[size_] = '\0';
    }

    char* data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

Buffer captured;
std::streambuf* previous = nullptr;

void begin() {
    captured.clear();
    previous = std::cerr.rdbuf(&captured);
}

const char* end() {
    std::cerr.rdbuf(previous);
    return captured.text();
}

}  // namespace cling_diagnostics
}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_CLING_DIAGNOSTICS_HPP
