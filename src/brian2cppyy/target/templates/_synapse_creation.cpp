{#  Pieces shared by the two synapse-creation templates
    (synapses_create_generator, synapses_create_array), imported there
    "with context" so that they see the template's keywords. #}

{#  A generated synapse target/source outside its group: skipped with
    skip_if_invalid, otherwise reported (the code object raises the
    IndexError Brian2 expects). #}
{% macro check_result_index() %}
if (_u_result < 0 || _u_result >= {{ constant_or_scalar(result_index_size, variables[result_index_size]) }})
{
    {% if skip_if_invalid %}
    continue;
    {% else %}
    _error_record->value = _u_result;
    _error_record->limit = {{ constant_or_scalar(result_index_size, variables[result_index_size]) }} - 1;
    _error_record->index_variable = {{ 0 if result_index == 'i' else 1 }};
    return brian2cppyy::ERR_INDEX;
    {% endif %}
}
{% endmacro %}

{#  After the new synapses are in _pre_data/_post_data: resize every
    registered synaptic variable, set N, number multiple synapses. #}
{% macro finish_creation() %}
{% for _dyn in array_names(_registered_variables, access_data=False) | sort %}
brian2cppyy::monitor_arrays::resize({{ _dyn }}_ptr, _new_num_synapses);
{% endfor %}
{{ N }} = _new_num_synapses;
{% if multisynaptic_index %}
{
    int32_t* const _synapse_number = {{ get_array_name(variables[multisynaptic_index], access_data=False) }}_ptr->get_data_ptr();
    brian2cppyy::number_synapse_pairs(_pre_data, _post_data, _new_num_synapses, _synapse_number);
}
{% endif %}
{% endmacro %}
