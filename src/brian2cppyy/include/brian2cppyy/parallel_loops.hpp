// brian2cppyy: the parallel loops of kernels (what a kernel's code calls;
// the pool that runs the parts is thread_pool.hpp).
//
// A kernel whose loop over indices may be split (the template decides that
// from what the generated code does: kernel_traits.py) calls
// parallel_parts(site, n, body): the index range [0, n) is cut into one
// contiguous part per thread (part_begin), part 0 runs on the calling
// thread, the others on the pool's workers, and the call returns when all
// are done. Results equal the serial loop's bit for bit, because every index
// is computed by the same code from the same inputs, whichever thread runs
// it: on the same path of the vectorised loop (parts begin at whole blocks,
// PART_ALIGNMENT) and in the calling thread's floating-point environment
// (thread_pool.hpp); a template that compacts (thresholds) merges the parts
// in index order (merge_compacted). parallel_split is the general form
// (body(part, parts), e.g. a synaptic pathway split by targets: part k takes
// the synapses whose target is k modulo parts).
//
// Whether a loop is split is decided per call site (ParallelSite, a static
// in the kernel): its first calls run serially and are timed; when the
// estimated work of a call exceeds split_threshold_ns (waking the workers
// and waiting for the slowest costs a few microseconds), its next calls are
// split and timed, and it stays split only while that is faster, also when
// another process takes a core; it measures again every SITE_USE_CALLS
// calls. A small network, or one on a busy machine, does not get slower with
// threads on.
//
// The pool's code, and the sites' decisions, are compiled only in a process
// that sets more than one thread (thread_pool.hpp, by loop/threads.py); until
// then pool_split_loop() is null, loop_threads() is 1 and every loop runs
// serially (the methods of ParallelSite, inline, are compiled where they are
// used: with the pool). Included by network_loop.hpp (compiled
// when Cling starts, with optimisation).
#ifndef BRIAN2CPPYY_PARALLEL_LOOPS_HPP
#define BRIAN2CPPYY_PARALLEL_LOOPS_HPP

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace brian2cppyy {

// At most this many threads (parts of one loop)
const int32_t MAX_THREADS = 256;

// Parts begin at multiples of this many indices. The vectorised loop of a
// kernel computes blocks of (vector width x interleave) indices, at most 64
// with AVX-512 and floats, and leaves the remainder to a scalar loop whose
// fast-math rounding may differ from the vector code's by an ulp. A part that
// begins at a multiple of the block computes each index on the same path as
// the serial loop from 0 does: the bit-identity of split loops rests on it.
// (It also keeps parts of a double array off each other's cache lines.)
const size_t PART_ALIGNMENT = 128;

// The first index of part `part` of [0, n) cut into `parts` contiguous
// parts, each a whole number of PART_ALIGNMENT blocks (but the last, which
// ends at n), their block counts differing by at most one
// (part_begin(n, parts, parts) == n; parts may be empty when n is small).
inline size_t part_begin(size_t n, size_t parts, size_t part) {
    const size_t blocks = (n + PART_ALIGNMENT - 1) / PART_ALIGNMENT;
    const size_t block = part * (blocks / parts) + std::min(part, blocks % parts);
    return std::min(n, block * PART_ALIGNMENT);
}

// One part of a split loop: function(context, part, parts)
typedef void (*PartFunction)(void* context, size_t part, size_t parts);

struct ParallelSite;

// What split_parts does when there are threads (thread_pool.hpp): asks
// the site, runs the loop split over the pool or serially, times it for the
// site. Returns the number of parts.
typedef size_t (*SplitLoopFunction)(ParallelSite& site, size_t n, size_t threads,
                                    PartFunction function, void* context);

// The pool's SplitLoopFunction, set when its code is compiled (thread_pool.hpp)
inline std::atomic<SplitLoopFunction>& pool_split_loop() {
    static std::atomic<SplitLoopFunction> split_loop{nullptr};
    return split_loop;
}

// The threads a loop may be split over: the pool's count as last set in
// this process (set_thread_count, thread_pool.hpp). Read on every call of a
// split site, without a system call; the pool itself is only reached when a
// loop is split.
inline std::atomic<int32_t>& loop_threads() {
    static std::atomic<int32_t> threads{1};
    return threads;
}

// Estimated work (ns) above which a loop is split
inline std::atomic<int64_t>& split_threshold_ns() {
    static std::atomic<int64_t> threshold{20000};
    return threshold;
}

// One split loop in a kernel (a static there), and whether to split its
// next call. A site alternates between probing and using:
//
// * probing: its next SITE_PROBE_CALLS calls run serially and are timed;
//   if a call's estimated work (median time per index times n) is below
//   split_threshold_ns, the site stays serial; otherwise the next
//   SITE_PROBE_CALLS calls are split and timed, and the site uses the mode
//   with the lower median time per index (a loop whose parts each scan the
//   whole input, like a synaptic pathway split by targets, may not gain);
// * using: for SITE_USE_CALLS calls, then it probes again (the network's
//   activity and the machine's load change). While it splits, it keeps
//   timing its split calls, and goes back to serial for the rest of the
//   period as soon as SITE_CHECK_CALLS of them took longer per index than
//   the serial calls did (a split call waits for its slowest part, and a
//   worker whose core another process took makes it slower than one
//   thread); it then probes again after SITE_RETRY_CALLS calls.
//
// Medians, not means or minima: a core that another process (or the host of
// a virtual machine) takes delays most split calls (the median sees it), a
// rare preemption of one thread delays one call (it does not), and the least
// time is the lucky call.
const int32_t SITE_PROBE_CALLS = 8;
const int32_t SITE_CHECK_CALLS = 32;
const int64_t SITE_USE_CALLS = 4096;
const int64_t SITE_RETRY_CALLS = 512;  // after going back to serial

// Timed calls of one mode (at most SITE_CHECK_CALLS): time per index of each
struct SiteTimes {
    double per_index[SITE_CHECK_CALLS];
    double indices = 0.0;
    int32_t calls = 0;

    void add(size_t n, double call_ns) {
        if (calls < SITE_CHECK_CALLS)
            per_index[calls] = call_ns / (double)n;
        indices += (double)n;
        calls++;
    }
    double median_ns_per_index() const {
        const int32_t count = std::min(calls, SITE_CHECK_CALLS);
        if (count == 0)
            return 0.0;
        double sorted[SITE_CHECK_CALLS];
        std::copy(per_index, per_index + count, sorted);
        std::nth_element(sorted, sorted + count / 2, sorted + count);
        return sorted[count / 2];
    }
    double mean_indices() const { return calls > 0 ? indices / calls : 0.0; }
};

struct ParallelSite {
    enum Phase { PROBE_SERIAL, PROBE_SPLIT, USE };
    Phase phase = PROBE_SERIAL;
    SiteTimes serial, split, recent;  // recent: split calls since the last check
    double serial_ns_per_index = 0.0;  // the serial probe's median
    bool use_split = false;
    int64_t used = 0;  // calls since the site began using its choice

    // Whether this call of n indices should be split; *timed: whether to
    // time it (and report it to record())
    bool choose_split(size_t n, bool* timed) {
        const int64_t threshold = split_threshold_ns().load(std::memory_order_relaxed);
        *timed = false;
        if (threshold == 0)
            return true;  // every call (tests)
        if (phase == USE && ++used >= SITE_USE_CALLS)
            probe_again();
        if (phase != USE) {
            *timed = true;
            return phase == PROBE_SPLIT;
        }
        if (!use_split || serial_ns_per_index * (double)n < (double)threshold)
            return false;
        *timed = true;
        return true;
    }

    // A timed call: n indices in ns, split or not
    void record(bool was_split, size_t n, double ns) {
        if (n == 0)
            return;
        const double threshold = (double)split_threshold_ns().load(std::memory_order_relaxed);
        if (phase == PROBE_SERIAL && !was_split) {
            serial.add(n, ns);
            if (serial.calls == SITE_PROBE_CALLS) {
                serial_ns_per_index = serial.median_ns_per_index();
                phase = serial_ns_per_index * serial.mean_indices() < threshold ? USE
                                                                               : PROBE_SPLIT;
            }
        } else if (phase == PROBE_SPLIT && was_split) {
            split.add(n, ns);
            if (split.calls == SITE_PROBE_CALLS) {
                phase = USE;
                use_split = split.median_ns_per_index() < serial_ns_per_index;
            }
        } else if (phase == USE && was_split) {
            recent.add(n, ns);
            if (recent.calls == SITE_CHECK_CALLS) {
                if (recent.median_ns_per_index() > serial_ns_per_index) {
                    use_split = false;  // and probe again sooner than usual
                    used = std::max<int64_t>(used, SITE_USE_CALLS - SITE_RETRY_CALLS);
                }
                recent = SiteTimes();
            }
        }
    }

  private:
    void probe_again() {
        phase = PROBE_SERIAL;
        serial = split = recent = SiteTimes();
        serial_ns_per_index = 0.0;
        use_split = false;
        used = 0;
    }
};

// Runs function(context, part, parts) for part = 0 .. parts - 1, one part
// per thread of the pool, when a loop over n indices is worth splitting
// (ParallelSite), else function(context, 0, 1) on the calling thread.
// Returns the number of parts. Not inline: compiled once, when Cling starts
// (as a part of the kernels' templates, its code and the thread checks cost
// each kernel about 17 ms of -O3 code generation).
size_t split_parts(ParallelSite& site, size_t n, PartFunction function, void* context) {
    const int32_t threads = loop_threads().load(std::memory_order_relaxed);
    if (threads > 1 && n >= (size_t)threads) {
        const SplitLoopFunction split_loop = pool_split_loop().load(std::memory_order_acquire);
        if (split_loop != nullptr)
            return split_loop(site, n, (size_t)threads, function, context);
    }
    function(context, 0, 1);
    return 1;
}

// One part of a split loop, out of line: the kernel's loop is compiled once
// (here), whether the calling thread runs it serially or as part 0, or a
// worker runs another part. It runs on a copy of the body. A body is a
// closure that captures by copy (the scalar code's values, the array
// pointers); the original's address goes to the pool, so the compiler must
// assume that a store through an array pointer may change what it captured,
// and reloads those values after every store (a store to a char array,
// not_refractory, keeps a refractory model's loop scalar). The copy's address
// does not escape: its values stay in registers. Copying costs a few words
// per part and call.
template <typename Body>
__attribute__((noinline)) void call_part(void* context, size_t part, size_t parts) {
    Body part_body = *static_cast<const Body*>(context);
    part_body(part, parts);
}

// Runs body(part, parts) for the parts of a loop over n indices (split_parts;
// each part on its own copy of body). Returns the number of parts.
template <typename Body>
__attribute__((always_inline)) inline size_t parallel_split(ParallelSite& site, size_t n,
                                                            const Body& body) {
    return split_parts(site, n, &call_part<Body>, const_cast<Body*>(&body));
}

// What call_range gets: the body and the number of indices.
struct RangeContext {
    const void* body;
    size_t n;
};

// One part of parallel_parts' range, out of line (as call_part).
template <typename Body>
__attribute__((noinline)) void call_range(void* context, size_t part, size_t parts) {
    const RangeContext& range = *static_cast<const RangeContext*>(context);
    Body part_body = *static_cast<const Body*>(range.body);
    part_body(part, part_begin(range.n, parts, part), part_begin(range.n, parts, part + 1));
}

// Runs body(part, begin, end) over [0, n) cut into contiguous parts
// [part_begin(n, parts, k), part_begin(n, parts, k + 1)) (split_parts;
// each part on its own copy of body). Returns the number of parts.
template <typename Body>
__attribute__((always_inline)) inline size_t parallel_parts(ParallelSite& site, size_t n,
                                                            const Body& body) {
    RangeContext range{&body, n};
    return split_parts(site, n, &call_range<Body>, &range);
}

// The events of a compacting loop's parts moved together, in index order:
// part k wrote its counts[k] events at out + part_begin(n, parts, k).
// Returns their number.
inline int32_t merge_compacted(int32_t* out, const int32_t* counts, size_t n, size_t parts) {
    size_t total = 0;
    for (size_t k = 0; k < parts; k++) {
        const size_t begin = part_begin(n, parts, k);
        if (begin != total && counts[k] > 0)
            std::memmove(out + total, out + begin, sizeof(int32_t) * (size_t)counts[k]);
        total += (size_t)counts[k];
    }
    return (int32_t)total;
}

// Entry point for Python (threads.set_split_threshold; 0: split every call)
inline void set_split_threshold_ns(int64_t threshold) {
    split_threshold_ns().store(threshold < 0 ? 0 : threshold);
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_PARALLEL_LOOPS_HPP
