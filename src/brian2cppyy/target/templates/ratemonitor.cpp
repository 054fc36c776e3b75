{# INCLUDES { brian2cppyy/monitor_arrays.hpp } #}
{# USES_VARIABLES { N, t, rate, _clock_t, _clock_dt, _spikespace,
                    _num_source_neurons, _source_start, _source_stop } #}
{#  Appends the time and the population rate of the source's spikes in
    [_source_start, _source_stop) to the monitor's dynamic arrays (appends of
    monitor_arrays.hpp: cost per step independent of the recorded length). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const int32_t* const _events = {{ _spikespace }};
    const int32_t _num_all_spikes = _events[_num_spikespace - 1];
    const brian2cppyy::monitor_arrays::EventRange _range = brian2cppyy::monitor_arrays::events_in(
        _events, _num_all_spikes, _source_start, _source_stop);
    const int32_t _num_spikes = _range.end - _range.begin;
    *brian2cppyy::monitor_arrays::append({{ _dynamic_t }}_ptr, 1) = {{ _clock_t }};
    *brian2cppyy::monitor_arrays::append({{ _dynamic_rate }}_ptr, 1) =
        1.0 * _num_spikes / {{ _clock_dt }} / _num_source_neurons;
    {{ N }} = {{ _dynamic_t }}_ptr->size();
{% endblock %}
