{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{# ALLOWS_SCALAR_WRITE #}
{#
  The loop runs inside a lambda that takes the array pointers as parameters,
  declared as Brian2 declares them (array_pointers, from the code generator:
  `double* __restrict _ptr_...`). Clang ignores __restrict on local variables
  but honours it on parameters, also after inlining the lambda (as scoped
  no-alias metadata). Without it, the loop vectoriser has to prove with
  runtime checks that the arrays do not overlap, which it cannot do for a
  data-dependent read -- e.g. the Payne-Hanek table lookup of
  brian2cppyy::vmath::sin/cos -- and then leaves the loop scalar.
#}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    [&]({{ array_pointers | map(attribute='parameter') | join(', ') }}) __attribute__((always_inline)) {
        for (size_t _idx = 0; _idx < _N; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
        }
    }({{ array_pointers | map(attribute='name') | join(', ') }});
{% endblock %}
