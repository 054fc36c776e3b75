// brian2cppyy: a growable buffer of int32 indices, for synapse creation.
//
// The generator template (synapses_create_generator) collects the indices of
// the new synapses before it commits them to Brian2's arrays.
// std::vector<int32_t> would do, but Cling spends about 100 ms compiling its
// growth code (at -O1, once per process); this buffer's is a few lines. It
// grows geometrically, like std::vector.
#ifndef BRIAN2CPPYY_INDEX_BUFFER_HPP
#define BRIAN2CPPYY_INDEX_BUFFER_HPP

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace brian2cppyy {

class IndexBuffer {
public:
    IndexBuffer() = default;
    IndexBuffer(const IndexBuffer&) = delete;
    IndexBuffer& operator=(const IndexBuffer&) = delete;
    ~IndexBuffer() { std::free(data_); }

    void push_back(int32_t value) {
        if (size_ == capacity_)
            grow();
        data_[size_++] = value;
    }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const int32_t* data() const { return data_; }

private:
    void grow() {
        const size_t capacity = capacity_ ? 2 * capacity_ : 1024;
        void* data = std::realloc(data_, capacity * sizeof(int32_t));
        if (!data)
            throw std::bad_alloc();  // the kernel's catch-all reports it
        data_ = static_cast<int32_t*>(data);
        capacity_ = capacity;
    }

    int32_t* data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_INDEX_BUFFER_HPP
