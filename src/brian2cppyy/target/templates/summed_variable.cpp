{# USES_VARIABLES { N } #}
{#  A (summed) variable: sets the target variable to the sum of the synaptic
    expression over all synapses that point to each target neuron. When the
    expression writes nothing (_traits.per_index), the targets are split
    over threads (parallel_loops.hpp). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set _index_array = get_array_name(_index_var) %}
    for (size_t _target_idx = 0; _target_idx < (size_t)({{ constant_or_scalar(_target_size_name, variables[_target_size_name]) }}); _target_idx++)
        {{ _target_var_array }}[_target_idx + {{ _target_start }}] = 0;
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    const size_t _num_synapses = {{ N }};
    {% if _traits is defined and _traits.per_index %}
    // split by ranges of targets: each thread sums, in synapse order, the
    // synapses of its targets (the serial sums, bit for bit)
    static brian2cppyy::ParallelSite _site;
    const size_t _target_size = (size_t)({{ constant_or_scalar(_target_size_name, variables[_target_size_name]) }});
    // (captured by copy: see stateupdate.cpp)
    brian2cppyy::parallel_parts(_site, _target_size, [=](size_t, size_t _lo, size_t _hi) __attribute__((always_inline)) {
        const size_t _first = _lo + {{ _target_start }}, _stop = _hi + {{ _target_start }};
        for (size_t _idx = 0; _idx < _num_synapses; _idx++)
        {
            const size_t _target = {{ _index_array }}[_idx];
            if (_target < _first || _target >= _stop)
                continue;
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
            {{ _target_var_array }}[_target] += _synaptic_var;
        }
    });
    {% else %}
    for (size_t _idx = 0; _idx < _num_synapses; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
        {{ _target_var_array }}[{{ _index_array }}[_idx]] += _synaptic_var;
    }
    {% endif %}
{% endblock %}
