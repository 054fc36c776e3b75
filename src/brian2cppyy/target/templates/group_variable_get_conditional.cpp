{# USES_VARIABLES { N } #}
{# RUNS_ONCE { run } #}
{# RETURNS_ARRAY { N _variable } #}
{#  Returns the values of a variable where a condition holds (G.v['cond']).
    group_get_indices.cpp extends it: the indices instead of the values. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% block elements %}
    {% set c_type = c_data_type(variables['_variable'].dtype) %}
    {{ c_type }}* const _elements = static_cast<{{ c_type }}*>(_return_buffer);
    {% endblock %}
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
            _elements[_num_elements++] = {% block element %}_variable{% endblock %};
    }
    return _num_elements;
{% endblock %}
