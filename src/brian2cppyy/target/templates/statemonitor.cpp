{# INCLUDES { brian2cppyy/monitor_arrays.hpp } #}
{# USES_VARIABLES { t, _clock_t, _indices, N } #}
{#  Appends one time step: the time to t, and for each recorded variable one
    row (one column per recorded index) to its 2-D dynamic array. The arrays
    grow here, in C++, through Brian2's dynamic array objects, by the appends
    of monitor_arrays.hpp (cost per step independent of the recorded length). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    *brian2cppyy::monitor_arrays::append({{ _dynamic_t }}_ptr, 1) = {{ _clock_t }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    {% for varname, var in _recorded_variables | dictsort %}
    {
        {% set _dyn = get_array_name(var, access_data=False) %}
        {% set c_type = c_data_type(variables[varname].dtype) %}
        {{ c_type }}* const _record_data = brian2cppyy::monitor_arrays::append_row({{ _dyn }}_ptr);
        for (size_t _i = 0; _i < _num_indices; _i++)
        {
            const size_t _idx = {{ _indices }}[_i];
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
            _record_data[_i] = _to_record_{{ varname }};
        }
    }
    {% endfor %}
    {{ N }} = {{ _dynamic_t }}_ptr->size();
{% endblock %}
