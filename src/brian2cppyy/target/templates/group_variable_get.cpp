{# USES_VARIABLES { _group_idx } #}
{# RUNS_ONCE { run } #}
{# RETURNS_ARRAY { _group_idx _variable } #}
{#  Evaluates a subexpression for the indices in _group_idx. The code object
    passes an output buffer (_return_buffer, one element per index) and
    returns as many elements as the kernel reports. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set c_type = c_data_type(variables['_variable'].dtype) %}
    {{ c_type }}* const _elements = static_cast<{{ c_type }}*>(_return_buffer);
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    for (size_t _idx_group_idx = 0; _idx_group_idx < _num_group_idx; _idx_group_idx++)
    {
        const size_t _idx = {{ _group_idx }}[_idx_group_idx];
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
        _elements[_idx_group_idx] = _variable;
    }
    return (int64_t)_num_group_idx;
{% endblock %}
