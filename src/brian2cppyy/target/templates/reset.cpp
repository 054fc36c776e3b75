{#  Runs the reset statements for the neurons in the event space (the last
    entry of the event space is the number of events). The events are
    distinct neurons: a reset that only writes to the event's own index
    (_traits.per_index) may split them over threads (parallel_loops.hpp). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    const int32_t* const _events = {{ _eventspace }};
    const int32_t _num_events = _events[_num{{ eventspace_variable.name }} - 1];
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    // captured by copy (see stateupdate.cpp)
    auto _loop = [=](size_t, size_t _begin, size_t _end) __attribute__((always_inline)) {
        for (size_t _index_events = _begin; _index_events < _end; _index_events++)
        {
            const size_t _idx = _events[_index_events];
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
        }
    };
    {% if _traits is defined and _traits.per_index %}
    static brian2cppyy::ParallelSite _site;
    brian2cppyy::parallel_parts(_site, (size_t)_num_events, _loop);
    {% else %}
    _loop(0, 0, (size_t)_num_events);
    {% endif %}
{% endblock %}
