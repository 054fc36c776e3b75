{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{# ALLOWS_SCALAR_WRITE #}
{#
  The loop runs inside a lambda that takes the array pointers as parameters,
  declared exactly as Brian2 declares them (the lines of pointers_lines that
  declare a pointer, `double* __restrict _ptr_... = ...;`; the others assign
  user functions' namespace pointers). Clang ignores __restrict on local variables
  but honours it on parameters, also after inlining the lambda (as scoped
  no-alias metadata). Without it, the loop vectoriser has to prove with
  runtime checks that the arrays do not overlap, which it cannot do for a
  data-dependent read -- e.g. the Payne-Hanek table lookup of
  brian2cppyy::vmath::sin/cos -- and then leaves the loop scalar.
#}
{% set _declarations = [] %}
{% set _pointers = [] %}
{% for line in pointers_lines if '*' in line.split('=')[0] %}
{% set _declaration = line.split('=')[0].strip() %}
{% set _ = _declarations.append(_declaration) %}
{% set _ = _pointers.append(_declaration.split()[-1]) %}
{% endfor %}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    [&]({{ _declarations | join(', ') }}) __attribute__((always_inline)) {
        for (size_t _idx = 0; _idx < _N; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
        }
    }({{ _pointers | join(', ') }});
{% endblock %}
