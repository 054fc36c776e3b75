{# INCLUDES { brian2cppyy/monitor_arrays.hpp, brian2cppyy/synapse_numbering.hpp } #}
{# PREPARES { brian2cppyy/spike_queue.hpp } #}
{# USES_VARIABLES { _synaptic_pre, _synaptic_post, sources, targets, N,
                    N_incoming, N_outgoing, N_pre, N_post, _source_offset, _target_offset } #}
{# WRITES_TO_READ_ONLY_VARIABLES { _synaptic_pre, _synaptic_post, N, N_incoming, N_outgoing } #}
{# RUNS_ONCE { run } #}
{#  Creates synapses from arrays of source and target indices (connect(i=...,
    j=...)): appends them, updates the per-neuron counts, resizes every
    registered synaptic variable and, with a multisynaptic index, numbers the
    synapses of each (source, target) pair. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% import '_synapse_creation.cpp' as _creation with context %}
    const size_t _old_num_synapses = {{ N }};
    const size_t _new_num_synapses = _old_num_synapses + _numsources;
    brian2cppyy::monitor_arrays::resize({{ _dynamic_N_incoming_ptr }}, {{ constant_or_scalar('N_post', variables['N_post']) }} + {{ target_offset_val }});
    brian2cppyy::monitor_arrays::resize({{ _dynamic_N_outgoing_ptr }}, {{ constant_or_scalar('N_pre', variables['N_pre']) }} + {{ source_offset_val }});
    brian2cppyy::monitor_arrays::resize({{ _dynamic__synaptic_pre_ptr }}, _new_num_synapses);
    brian2cppyy::monitor_arrays::resize({{ _dynamic__synaptic_post_ptr }}, _new_num_synapses);
    int32_t* const _pre_data = {{ _dynamic__synaptic_pre_ptr }}->get_data_ptr();
    int32_t* const _post_data = {{ _dynamic__synaptic_post_ptr }}->get_data_ptr();
    int32_t* const _N_incoming_data = {{ _dynamic_N_incoming_ptr }}->get_data_ptr();
    int32_t* const _N_outgoing_data = {{ _dynamic_N_outgoing_ptr }}->get_data_ptr();
    for (size_t _idx = 0; _idx < _numsources; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
        _pre_data[_old_num_synapses + _idx] = _real_sources;
        _post_data[_old_num_synapses + _idx] = _real_targets;
        _N_outgoing_data[_real_sources]++;
        _N_incoming_data[_real_targets]++;
    }
    {{ _creation.finish_creation() | autoindent }}
{% endblock %}
