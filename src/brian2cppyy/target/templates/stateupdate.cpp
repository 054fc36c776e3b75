{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{# ALLOWS_SCALAR_WRITE #}
{#
  Kernels whose vector code only writes to the loop's own index
  (_traits.per_index, see kernel_traits.py) split the loop over the pool's
  threads (parallel_loops.hpp); the others run it on one thread.

  The loop runs inside a lambda that takes the array pointers as parameters,
  declared as Brian2 declares them (array_pointers, from the code generator:
  `double* __restrict _ptr_...`). Clang ignores __restrict on local variables
  but honours it on parameters, also after inlining the lambda (as scoped
  no-alias metadata). Without it, the loop vectoriser has to prove with
  runtime checks that the arrays do not overlap, which it cannot do for a
  data-dependent read -- e.g. the Payne-Hanek table lookup of
  brian2cppyy::vmath::sin/cos -- and then leaves the loop scalar.

  The lambda captures the scalar code's values by copy, and each part runs
  its own copy of it (parallel_split: a copy that stays in registers;
  captured by reference, or read through a closure that escapes to the pool,
  the values would be reloaded after each store to an array that may alias
  them, and a store to a char array, not_refractory, would leave a
  refractory model's loop scalar). Vector code that wrote to a captured value
  would not compile (the copies are const).
#}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    auto _loop = [=]({{ (['size_t _begin', 'size_t _end'] + (array_pointers | map(attribute='parameter') | list)) | join(', ') }}) __attribute__((always_inline)) {
        for (size_t _idx = _begin; _idx < _end; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{ vector_code | autoindent }}
        }
    };
    {% set _pointers = array_pointers | map(attribute='name') | list %}
    {% if _traits is defined and _traits.per_index %}
    // each index on its own: the range may be split over threads
    static brian2cppyy::ParallelSite _site;
    brian2cppyy::parallel_parts(_site, _N, [=](size_t, size_t _begin, size_t _end) __attribute__((always_inline)) {
        _loop({{ (['_begin', '_end'] + _pointers) | join(', ') }});
    });
    {% else %}
    _loop({{ (['0', '_N'] + _pointers) | join(', ') }});
    {% endif %}
{% endblock %}
