{# INCLUDES { brian2cppyy/spike_queue.hpp } #}
{# USES_VARIABLES { _queue_capsule } #}
{# CPP_OBJECTS { _queue_capsule: CSpikeQueue } #}
{#  Processes the synapses whose events arrive now (on_pre / on_post code of
    a pathway): peeks at the current slot of the pathway's C++ spike queue,
    runs the vector code for each synapse in it, then advances the queue.
    A pathway whose writes of different synapses cannot meet when split by
    target (_traits.target_index: e.g. only `v_post += w` and synaptic
    variables), or that writes only synaptic variables (_traits.per_index),
    may be split over threads (parallel_loops.hpp). #}
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
        {% set _partition = _traits.target_index if _traits is defined else none %}
        {% if _partition is none and _traits is defined and _traits.per_index %}
        {% set _partition = '_idx' %}
        {% endif %}
        {% if _partition is none %}
        for (size_t _k = 0; _k < _num_spiking_synapses; _k++)
        {
            const size_t _idx = _synapse_ids[_k];
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
        }
        {% else %}
        // split by {{ _partition }} modulo the parts: the synapses of one
        // target stay on one thread, in the serial order (one part, the
        // serial loop: no load of the target, no division per synapse); the
        // loop captures by copy (see stateupdate.cpp)
        auto _pathway = [=](size_t _part, size_t _parts) __attribute__((always_inline)) {
            for (size_t _k = 0; _k < _num_spiking_synapses; _k++)
            {
                const size_t _idx = _synapse_ids[_k];
                {% if _partition == '_idx' %}
                if (_parts > 1 && _idx % _parts != _part)
                {% else %}
                if (_parts > 1 && (size_t){{ get_array_name(variables[_partition]) }}[_idx] % _parts != _part)
                {% endif %}
                    continue;
                const size_t _vectorisation_idx = _idx;
                {{ vector_code | autoindent }}
            }
        };
        static brian2cppyy::ParallelSite _site;
        brian2cppyy::parallel_split(_site, _num_spiking_synapses, _pathway);
        {% endif %}
    }
    _queue_capsule->advance();
{% endblock %}
