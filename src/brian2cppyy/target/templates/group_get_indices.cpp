{# USES_VARIABLES { N, _indices } #}
{# RUNS_ONCE { run } #}
{# RETURNS_ARRAY { N int32 } #}
{#  Returns the indices where a condition holds (G.indices['cond']). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    int32_t* const _elements = static_cast<int32_t*>(_return_buffer);
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    int64_t _num_elements = 0;
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    for (size_t _idx = 0; _idx < _N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
        if (_cond)
            _elements[_num_elements++] = (int32_t)_idx;
    }
    return _num_elements;
{% endblock %}
