{# USES_VARIABLES { _group_idx } #}
{# RUNS_ONCE { run } #}
{# ALLOWS_SCALAR_WRITE #}
{#  Sets a variable for the indices in _group_idx (G.v[indices] = 'expr'). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    for (size_t _idx_group_idx = 0; _idx_group_idx < _num_group_idx; _idx_group_idx++)
    {
        const size_t _idx = {{ _group_idx }}[_idx_group_idx];
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
    }
{% endblock %}
