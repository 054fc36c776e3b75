// brian2cppyy: the multisynaptic index of new synapses.
//
// Included by the synapse-creation templates when the Synapses object has a
// multisynaptic index (connect(..., n=...) with multisynaptic_index set), not
// when Cling starts: instantiating std::map for it is compile time that other
// models do not need.
#ifndef BRIAN2CPPYY_SYNAPSE_NUMBERING_HPP
#define BRIAN2CPPYY_SYNAPSE_NUMBERING_HPP

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

namespace brian2cppyy {

// Numbers the synapses of each (source, target) pair 0, 1, 2, ... in the
// order of their synapse indices.
inline void number_synapse_pairs(const int32_t* pre, const int32_t* post, size_t n,
                                 int32_t* number) {
    std::map<std::pair<int32_t, int32_t>, int32_t> seen;
    for (size_t k = 0; k < n; k++)
        number[k] = seen[std::make_pair(pre[k], post[k])]++;
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_SYNAPSE_NUMBERING_HPP
