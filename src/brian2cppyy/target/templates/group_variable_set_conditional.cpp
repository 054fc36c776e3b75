{# USES_VARIABLES { N } #}
{# RUNS_ONCE { run } #}
{# ALLOWS_SCALAR_WRITE #}
{#  Sets a variable where a condition holds (G.v['cond'] = 'expr'). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code['condition'] | autoindent }}
    {{ scalar_code['statement'] | autoindent }}
    for (size_t _idx = 0; _idx < _N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code['condition'] | autoindent }}
        if (_cond)
        {
            {{ vector_code['statement'] | autoindent }}
        }
    }
{% endblock %}
