// brian2cppyy: Brian2's spike queue (CSpikeQueue, synapses/spikequeue.h) for
// the synaptic templates (synapses_push_spikes, synapses).
//
// Included by those templates, not when Cling starts: parsing spikequeue.h
// costs about 80 ms, which models without synapses need not pay. Brian2
// creates and prepares the queues (its Cython spike queue); the kernels push
// the events of each step (push_spikes), peek at the current slot and
// advance.
#ifndef BRIAN2CPPYY_SPIKE_QUEUE_HPP
#define BRIAN2CPPYY_SPIKE_QUEUE_HPP

#include <cstdint>

#include "spikequeue.h"

namespace brian2cppyy {

// CSpikeQueue::push, compiled once per process: this definition is not
// inline, so Cling compiles it with the first kernel that includes this
// header (a synaptic kernel of every time step, at the configured level), and
// the other pathways' kernels call it instead of compiling it again (about
// 70 ms each at -O3).
void push_spikes(CSpikeQueue* queue, int32_t* spikes, int32_t n_spikes) {
    queue->push(spikes, n_spikes);
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_SPIKE_QUEUE_HPP
