{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    for (size_t _idx = 0; _idx < _N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
    }
{% endblock %}
