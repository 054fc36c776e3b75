{# INCLUDES { brian2cppyy/spike_queue.hpp } #}
{# USES_VARIABLES { _queue_capsule } #}
{# CPP_OBJECTS { _queue_capsule: CSpikeQueue } #}
{#  Processes the synapses whose events arrive now (on_pre / on_post code of
    a pathway): peeks at the current slot of the pathway's C++ spike queue,
    runs the vector code for each synapse in it, then advances the queue. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    std::vector<int32_t>* const _spiking_synapses = _queue_capsule->peek();
    const size_t _num_spiking_synapses = _spiking_synapses->size();
    if (_num_spiking_synapses > 0)
    {
        const int32_t* const _synapse_ids = _spiking_synapses->data();
        // scalar code
        const size_t _vectorisation_idx = 1;
        {{ scalar_code | autoindent }}
        for (size_t _k = 0; _k < _num_spiking_synapses; _k++)
        {
            const size_t _idx = _synapse_ids[_k];
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
        }
    }
    _queue_capsule->advance();
{% endblock %}
