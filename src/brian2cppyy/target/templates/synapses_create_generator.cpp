{# INCLUDES { brian2cppyy/index_buffer.hpp, brian2cppyy/monitor_arrays.hpp, brian2cppyy/synapse_numbering.hpp } #}
{# PREPARES { brian2cppyy/spike_queue.hpp } #}
{# USES_VARIABLES { _synaptic_pre, _synaptic_post, rand, N,
                    N_incoming, N_outgoing, N_pre, N_post, _source_offset, _target_offset } #}
{# WRITES_TO_READ_ONLY_VARIABLES { _synaptic_pre, _synaptic_post, N, N_incoming, N_outgoing } #}
{# RUNS_ONCE { run } #}
{# ITERATE_ALL { _idx } #}
{#  Follows Brian2's codegen/runtime/cython_rt/templates/synapses_create_generator.pyx
    step by step, so that random numbers are drawn in the same order and a seed
    gives the same synapses; written anew for this target (Brian2 and
    brian2cppyy are both under the CeCILL-2.1 licence).

    Creates synapses from a generator expression (connect(p=..., n=...,
    j='k for k in range(...) if ...', j='k for k in sample(..., p=/size=)')).

    "outer index": the index looped over (i, or j for connect(i=...));
    "result index": the index the generator produces; "inner variable": the
    generator's own variable (k). Random numbers are drawn in the same order
    as the Cython target's, so that a seed gives the same connectivity.
    Errors are reported through _error_record and a status code; the code
    object raises the IndexError Brian2 expects. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% import '_synapse_creation.cpp' as _creation with context %}
    DynamicArray1D<int32_t>* const _pre_array = {{ _dynamic__synaptic_pre_ptr }};
    DynamicArray1D<int32_t>* const _post_array = {{ _dynamic__synaptic_post_ptr }};
    const size_t _old_num_synapses = _pre_array->size();
    brian2cppyy::monitor_arrays::resize({{ _dynamic_N_incoming_ptr }}, {{ constant_or_scalar('N_post', variables['N_post']) }} + {{ target_offset_val }});
    brian2cppyy::monitor_arrays::resize({{ _dynamic_N_outgoing_ptr }}, {{ constant_or_scalar('N_pre', variables['N_pre']) }} + {{ source_offset_val }});
    brian2cppyy::IndexBuffer _new_pre, _new_post;
    int32_t _raw_pre_idx, _raw_post_idx;
    int32_t _i, _j;
    {% if iterator_func == 'sample' and iterator_kwds['sample_size'] == 'fixed' %}
    std::set<int32_t> _selected_set;
    {% endif %}
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code['setup_iterator'] | autoindent }}
    {{ scalar_code['generator_expr'] | autoindent }}
    {{ scalar_code['create_cond'] | autoindent }}
    {{ scalar_code['update'] | autoindent }}
    const int64_t _outer_size = {{ constant_or_scalar(outer_index_size, variables[outer_index_size]) }};
    for (_{{ outer_index }} = 0; _{{ outer_index }} < _outer_size; _{{ outer_index }}++)
    {
        _raw{{ outer_index_array }} = _{{ outer_index }} + {{ outer_index_offset }};
        const size_t _vectorisation_idx = _{{ outer_index }};
        {% if not result_index_condition %}
        {
            {{ vector_code['create_cond'] | autoindent }}
            if (!_cond)
                continue;
        }
        {% endif %}
        // each block of generated code declares its own constants: run it in
        // a scope of its own and copy out what later code needs
        int32_t _u_iter_low, _u_iter_high, _u_iter_step;
        {% if iterator_func == 'sample' %}
        {% if iterator_kwds['sample_size'] == 'fixed' %}
        int32_t _u_iter_size;
        {% else %}
        double _u_iter_p;
        {% endif %}
        {% endif %}
        {
            {{ vector_code['setup_iterator'] | autoindent }}
            _u_iter_low = _iter_low;
            _u_iter_high = _iter_high;
            _u_iter_step = _iter_step;
            {% if iterator_func == 'sample' %}
            {% if iterator_kwds['sample_size'] == 'fixed' %}
            _u_iter_size = _iter_size;
            {% else %}
            _u_iter_p = _iter_p;
            {% endif %}
            {% endif %}
        }
        {% if iterator_func == 'range' %}
        for (int32_t {{ inner_variable }} = _u_iter_low;
             _u_iter_step > 0 ? {{ inner_variable }} < _u_iter_high : {{ inner_variable }} > _u_iter_high;
             {{ inner_variable }} += _u_iter_step)
        {
        {% elif iterator_func == 'sample' %}
        {% if iterator_kwds['sample_size'] == 'fixed' %}
        // a sample of fixed size: selection sampling (Knuth, TAOCP 2,
        // 3.4.2) for large samples, a set of random draws for small ones
        int64_t _n_total;
        if (_u_iter_step > 0)
            _n_total = _brian_floordiv((int64_t)_u_iter_high - _u_iter_low - 1, (int64_t)_u_iter_step) + 1;
        else
            _n_total = _brian_floordiv((int64_t)_u_iter_low - _u_iter_high - 1, -(int64_t)_u_iter_step) + 1;
        const bool _selection_algo = 1.0 * _u_iter_size / _n_total > 0.06;
        int64_t _sample_size = _u_iter_size;
        if (_sample_size > _n_total)
        {
            {% if skip_if_invalid %}
            _sample_size = _n_total;
            {% else %}
            _error_record->value = _u_iter_size;
            _error_record->limit = _n_total;
            return brian2cppyy::ERR_SAMPLE_SIZE;
            {% endif %}
        }
        else if (_sample_size < 0)
        {
            {% if skip_if_invalid %}
            continue;
            {% else %}
            _error_record->value = _u_iter_size;
            return brian2cppyy::ERR_NEGATIVE_SAMPLE_SIZE;
            {% endif %}
        }
        int64_t _n_selected = 0, _n_dealt_with = 0;
        int32_t {{ inner_variable }} = _u_iter_low - _u_iter_step;
        std::set<int32_t>::const_iterator _selected_it;
        if (!_selection_algo)
        {
            _selected_set.clear();
            while (_n_selected < _sample_size)
            {
                int32_t _r = (int32_t)(_rand(_vectorisation_idx) * _n_total);
                while (!_selected_set.insert(_r).second)
                    _r = (int32_t)(_rand(_vectorisation_idx) * _n_total);
                _n_selected++;
            }
            _n_selected = 0;
            _selected_it = _selected_set.begin();
        }
        while (_n_selected < _sample_size)
        {
            if (_selection_algo)
            {
                {{ inner_variable }} += _u_iter_step;
                _n_dealt_with++;
                const double _U = _rand(_vectorisation_idx);
                if ((_n_total - _n_dealt_with) * _U >= _sample_size - _n_selected)
                    continue;
            }
            else
            {
                {{ inner_variable }} = _u_iter_low + (*_selected_it) * _u_iter_step;
                ++_selected_it;
            }
            _n_selected++;
        {% else %}
        // a sample with probability p: geometric jumps for small p
        if (_u_iter_p == 0)
            continue;
        const int32_t _iter_sign = _u_iter_step < 0 ? -1 : 1;
        const bool _jump_algo = _u_iter_p < 0.25;
        const double _log1p = _jump_algo ? log(1 - _u_iter_p) : 1.0;
        const double _pconst = 1.0 / _log1p;
        int32_t {{ inner_variable }} = _u_iter_low - _u_iter_step;
        while (_iter_sign * ({{ inner_variable }} + _u_iter_step) < _iter_sign * _u_iter_high)
        {
            {{ inner_variable }} += _u_iter_step;
            if (_jump_algo)
            {
                const int32_t _jump = (int32_t)(log(_rand(_vectorisation_idx)) * _pconst) * _u_iter_step;
                {{ inner_variable }} += _jump;
                if (_iter_sign * {{ inner_variable }} >= _iter_sign * _u_iter_high)
                    break;
            }
            else if (_rand(_vectorisation_idx) >= _u_iter_p)
                continue;
        {% endif %}
        {% endif %}
            int32_t _u_result, _u_outer_array;
            {
                {{ vector_code['generator_expr'] | autoindent }}
                _u_result = _{{ result_index }};
                _u_outer_array = {{ outer_index_array }};
            }
            const int32_t {{ outer_index_array }} = _u_outer_array;
            const int32_t _{{ result_index }} = _u_result;
            _raw{{ result_index_array }} = _u_result + {{ result_index_offset }};
            {% if result_index_condition %}
            {% if result_index_used %}
            {{ _creation.check_result_index() | autoindent }}
            {% endif %}
            char _u_cond;
            {
                {{ vector_code['create_cond'] | autoindent }}
                _u_cond = _cond;
            }
            {% if if_expression != 'True' %}
            if (!_u_cond)
                continue;
            {% endif %}
            {% endif %}
            {% if not result_index_used %}
            {{ _creation.check_result_index() | autoindent }}
            {% endif %}
            int32_t _u_n, _u_pre_idx, _u_post_idx;
            {
                {{ vector_code['update'] | autoindent }}
                _u_n = _n;
                _u_pre_idx = _pre_idx;
                _u_post_idx = _post_idx;
            }
            for (int32_t _repetition = 0; _repetition < _u_n; _repetition++)
            {
                _new_pre.push_back(_u_pre_idx);
                _new_post.push_back(_u_post_idx);
            }
        }
    }
    const size_t _new_num_synapses = _old_num_synapses + _new_pre.size();
    brian2cppyy::monitor_arrays::resize(_pre_array, _new_num_synapses);
    brian2cppyy::monitor_arrays::resize(_post_array, _new_num_synapses);
    int32_t* const _pre_data = _pre_array->get_data_ptr();
    int32_t* const _post_data = _post_array->get_data_ptr();
    if (!_new_pre.empty())
    {
        std::memcpy(_pre_data + _old_num_synapses, _new_pre.data(), _new_pre.size() * sizeof(int32_t));
        std::memcpy(_post_data + _old_num_synapses, _new_post.data(), _new_post.size() * sizeof(int32_t));
    }
    int32_t* const _N_incoming_data = {{ _dynamic_N_incoming_ptr }}->get_data_ptr();
    int32_t* const _N_outgoing_data = {{ _dynamic_N_outgoing_ptr }}->get_data_ptr();
    for (size_t _k = _old_num_synapses; _k < _new_num_synapses; _k++)
    {
        _N_outgoing_data[_pre_data[_k]]++;
        _N_incoming_data[_post_data[_k]]++;
    }
    {{ _creation.finish_creation() | autoindent }}
{% endblock %}
