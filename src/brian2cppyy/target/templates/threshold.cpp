{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{#  t, not_refractory and lastspike are needed_variables of the Thresholder
    when the group is refractory (template keyword _uses_refractory). The
    event space has N+1 entries: the indices of the neurons that emitted the
    event, then their count in the last entry. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    int32_t _num_events = 0;
    for (size_t _idx = 0; _idx < _N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
        if (_cond)
        {
            {{ _eventspace }}[_num_events++] = (int32_t)_idx;
            {% if _uses_refractory %}
            {{ not_refractory }}[_idx] = false;
            {{ lastspike }}[_idx] = {{ t }};
            {% endif %}
        }
    }
    {{ _eventspace }}[_N] = _num_events;
{% endblock %}
{% block after_code %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    // no events are left over after a run (the last entry is the count)
    {{ _eventspace }}[{{ constant_or_scalar('N', variables['N']) }}] = 0;
{% endblock %}
