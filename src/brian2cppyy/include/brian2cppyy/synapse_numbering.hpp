// brian2cppyy: the multisynaptic index of new synapses.
//
// Included by the synapse-creation templates (their INCLUDES), not when
// Cling starts. A function template, so that including it costs nothing
// (1 ms): std::map is instantiated only by the kernels that call it, those
// of a Synapses object with a multisynaptic index (connect(..., n=...) with
// multisynaptic_index set); as a plain inline function, including it cost
// 70 ms.
#ifndef BRIAN2CPPYY_SYNAPSE_NUMBERING_HPP
#define BRIAN2CPPYY_SYNAPSE_NUMBERING_HPP

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

namespace brian2cppyy {

// Numbers the synapses of each (source, target) pair 0, 1, 2, ... in the
// order of their synapse indices.
template <typename Index>
void number_synapse_pairs(const Index* pre, const Index* post, size_t n, Index* number) {
    std::map<std::pair<Index, Index>, Index> seen;
    for (size_t k = 0; k < n; k++)
        number[k] = seen[std::make_pair(pre[k], post[k])]++;
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_SYNAPSE_NUMBERING_HPP
