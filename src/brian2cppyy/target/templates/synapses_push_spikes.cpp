{# INCLUDES { brian2cppyy/spike_queue.hpp } #}
{# USES_VARIABLES { _queue_capsule } #}
{# CPP_OBJECTS { _queue_capsule: CSpikeQueue } #}
{# OWNER_CALLS { before_run: initialise_queue } #}
{#  Pushes the source's events into the pathway's C++ spike queue. Before a
    run, the pathway (re)initialises its queue (delays, dt) in Python
    (OWNER_CALLS: the code object calls it). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    int32_t* const _events = {{ _eventspace }};
    const int32_t _num_events = _events[_num{{ eventspace_variable.name }} - 1];
    if (_num_events > 0)
        brian2cppyy::push_spikes(_queue_capsule, _events, _num_events);
{% endblock %}
