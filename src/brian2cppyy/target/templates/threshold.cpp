{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{#  t, not_refractory and lastspike are needed_variables of the Thresholder
    when the group is refractory (template keyword _uses_refractory). The
    event space has N+1 entries: the indices of the neurons that emitted the
    event, then their count in the last entry. A threshold whose vector code
    only writes to the loop's own index (_traits.per_index) may be split over
    threads (parallel_loops.hpp). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    // part k of the range writes its events from its first index on and its
    // count to _part_counts[k]; the parts are then moved together in index
    // order (the serial list). The loop captures by copy (see stateupdate.cpp).
    int32_t _counts[brian2cppyy::MAX_THREADS];
    int32_t* const _part_counts = _counts;
    auto _range_loop = [=](size_t _part, size_t _begin, size_t _end) __attribute__((always_inline)) {
        int32_t _count = 0;
        for (size_t _idx = _begin; _idx < _end; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
            if (_cond)
            {
                {{ _eventspace }}[_begin + _count++] = (int32_t)_idx;
                {% if _uses_refractory %}
                {{ not_refractory }}[_idx] = false;
                {{ lastspike }}[_idx] = {{ t }};
                {% endif %}
            }
        }
        _part_counts[_part] = _count;
    };
    {% if _traits is defined and _traits.per_index %}
    static brian2cppyy::ParallelSite _site;
    const size_t _parts = brian2cppyy::parallel_parts(_site, _N, _range_loop);
    {% else %}
    const size_t _parts = 1;
    _range_loop(0, 0, _N);
    {% endif %}
    const int32_t _num_events = brian2cppyy::merge_compacted({{ _eventspace }}, _counts, _N, _parts);
    {{ _eventspace }}[_N] = _num_events;
{% endblock %}
{% block after_code %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    // no events are left over after a run (the last entry is the count)
    {{ _eventspace }}[{{ constant_or_scalar('N', variables['N']) }}] = 0;
{% endblock %}
