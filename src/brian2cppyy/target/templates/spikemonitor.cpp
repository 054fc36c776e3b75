{# INCLUDES { brian2cppyy/monitor_arrays.hpp } #}
{# USES_VARIABLES { N, _clock_t, count, _source_start, _source_stop } #}
{#  Records the events of the source (spikes or custom events) that fall in
    [_source_start, _source_stop): appends the recorded variables to their
    dynamic arrays (resized here, in C++) and counts events per neuron. The
    indices in the event space are sorted. Also used by EventMonitor. The
    arrays grow by the appends of monitor_arrays.hpp (cost per event
    independent of the recorded length). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    const int32_t* const _events = {{ _eventspace }};
    const int32_t _num_all_events = _events[_num{{ eventspace_variable.name }} - 1];
    const brian2cppyy::monitor_arrays::EventRange _range = brian2cppyy::monitor_arrays::events_in(
        _events, _num_all_events, _source_start, _source_stop);
    const int32_t _start_idx = _range.begin, _end_idx = _range.end;
    const int32_t _num_events = _end_idx - _start_idx;
    if (_num_events > 0)
    {
        // scalar code
        const size_t _vectorisation_idx = 1;
        {{ scalar_code | autoindent }}
        {% for varname, var in record_variables | dictsort %}
        {% set _dyn = get_array_name(var, access_data=False) %}
        {{ c_data_type(var.dtype) }}* const _record_{{ varname }} =
            brian2cppyy::monitor_arrays::append({{ _dyn }}_ptr, _num_events);
        {% endfor %}
        {{ N }} += _num_events;
        for (int32_t _j = _start_idx; _j < _end_idx; _j++)
        {
            const size_t _idx = _events[_j];
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
            {% for varname in record_variables | sort %}
            _record_{{ varname }}[_j - _start_idx] = _to_record_{{ varname }};
            {% endfor %}
            {{ count }}[_idx - _source_start]++;
        }
    }
{% endblock %}
