{# USES_VARIABLES { N, _indices } #}
{# RUNS_ONCE { run } #}
{# RETURNS_ARRAY { N int32 } #}
{#  Returns the indices where a condition holds (G.indices['cond']): the
    loop of group_variable_get_conditional.cpp, collecting indices. #}
{% extends 'group_variable_get_conditional.cpp' %}
{% block elements %}
    int32_t* const _elements = static_cast<int32_t*>(_return_buffer);
{% endblock %}
{% block element %}(int32_t)_idx{% endblock %}
