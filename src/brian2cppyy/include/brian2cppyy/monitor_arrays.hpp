// brian2cppyy: appending to a monitor's dynamic arrays at a cost per append
// that does not depend on how much the monitor has already recorded.
//
// Monitors (StateMonitor, SpikeMonitor, EventMonitor, PopulationRateMonitor)
// append to Brian2's DynamicArray1D / DynamicArray2D objects (brianlib's
// dynamic_array.h), which Python reads back through numpy views. The
// templates append only through the two functions below:
//
//  - append(DynamicArray1D*, n): DynamicArray1D::resize grows its capacity
//    geometrically (to max(new size, capacity * factor + 1), factor 2 in
//    Brian2's runtime arrays), so n appended elements cost O(n) amortised.
//  - append_row(DynamicArray2D*): one more row through resize_along_first.
//    DynamicArray2D::resize(rows, cols) must not be used for this: even when
//    the columns do not change it visits every existing row on every call,
//    which makes a recording of T steps cost O(T^2).
//
// Both resize Brian2's objects themselves, so their size (what Python's
// DynamicArray views show) is always the number of recorded elements. The
// synapse-creation templates resize the synaptic variables through resize()
// below, for the same reason as what follows.
//
// Compiled once per element type: Brian2's DynamicArray1D::resize grows its
// std::vector with vector::resize(n, value), whose instantiation costs Cling
// about 100 ms per element type and kernel at -O1..-O3. The templates below
// are the generic forms; for each element type the kernels of a process use,
// runtime_support.py compiles (once) plain overloads that call them, and
// overload resolution prefers those: a kernel then only calls them.
//
// The growth counters record what the appends cost beyond writing the new
// elements: how often a buffer was reallocated and how many already-recorded
// elements those reallocations copied. Geometric growth keeps the copies
// below twice the number of appended elements (factor 2: the reallocations
// copy 1, 3, 7, ..., c recorded elements, c < the final size, in all less
// than 2c); tests check this with recordings of different lengths. A reallocation is recognised by the
// data pointer changing (the old buffer is still alive while the new one is
// allocated, so a reallocated buffer never starts at the same address). The
// counters use relaxed loads and stores, not read-modify-write atomics, to
// keep the hot path to plain moves: kernels running at the same time in
// several Python threads may lose counts, never corrupt memory.
#ifndef BRIAN2CPPYY_MONITOR_ARRAYS_HPP
#define BRIAN2CPPYY_MONITOR_ARRAYS_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dynamic_array.h"

namespace brian2cppyy {
namespace monitor_arrays {

enum Counter {
    APPENDED = 0,       // elements appended (a 2-D row counts its columns)
    REALLOCATIONS = 1,  // appends that moved the data to a new buffer
    MOVED = 2,          // already-recorded elements copied by those moves
    NUM_COUNTERS = 3
};

inline std::atomic<uint64_t>* counters() {
    static std::atomic<uint64_t> values[NUM_COUNTERS] = {};
    return values;
}

inline void add_to(Counter which, uint64_t amount) {
    std::atomic<uint64_t>& c = counters()[which];
    c.store(c.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

// For Python (tests, diagnostics): read one counter, reset all.
inline uint64_t read_counter(int which) {
    return counters()[which].load(std::memory_order_relaxed);
}

inline void reset_counters() {
    for (int k = 0; k < NUM_COUNTERS; k++)
        counters()[k].store(0, std::memory_order_relaxed);
}

inline void count_append(const void* old_data, const void* new_data,
                         size_t old_elements, size_t appended) {
    add_to(APPENDED, appended);
    if (old_data != new_data) {
        add_to(REALLOCATIONS, 1);
        add_to(MOVED, old_elements);
    }
}

namespace generic {

// Appends `count` elements (zero-initialised) and returns a pointer to the
// first of them.
template <class T>
inline T* append(DynamicArray1D<T>* array, size_t count) {
    const size_t old_size = array->size();
    const T* const old_data = array->get_data_ptr();
    array->resize(old_size + count);
    T* const data = array->get_data_ptr();
    count_append(old_data, data, old_size, count);
    return data + old_size;
}

// Appends one row (zero-initialised, the number of columns unchanged) and
// returns a pointer to it. The row's columns are contiguous; the next row
// starts stride() elements later.
template <class T>
inline T* append_row(DynamicArray2D<T>* array) {
    const size_t old_rows = array->rows();
    const T* const old_data = array->get_data_ptr();
    array->resize_along_first(old_rows + 1);
    T* const data = array->get_data_ptr();
    count_append(old_data, data, old_rows * array->cols(), array->cols());
    return data + old_rows * array->stride();
}

}  // namespace generic

template <class T>
inline T* append(DynamicArray1D<T>* array, size_t count) {
    return generic::append(array, count);
}

template <class T>
inline T* append_row(DynamicArray2D<T>* array) {
    return generic::append_row(array);
}

// Sets the size (new elements zero-initialised, capacity grown as Brian2's
// DynamicArray1D::resize grows it).
template <class T>
inline void resize(DynamicArray1D<T>* array, size_t size) {
    array->resize(size);
}

// The positions [begin, end) of the events in [start, stop) among the
// num_events sorted events of an event space (the source of a monitor that
// records a subgroup)
struct EventRange {
    int32_t begin, end;
};

inline EventRange events_in(const int32_t* events, int32_t num_events, int32_t start,
                            int32_t stop) {
    EventRange range{num_events, num_events};
    for (int32_t j = 0; j < num_events; j++)
        if (events[j] >= start) {
            range.begin = j;
            break;
        }
    for (int32_t j = range.begin; j < num_events; j++)
        if (events[j] >= stop) {
            range.end = j;
            break;
        }
    return range;
}

}  // namespace monitor_arrays
}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_MONITOR_ARRAYS_HPP
