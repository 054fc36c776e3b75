{#
  brian2cppyy: the skeleton every group template extends.

  Each block (before_run, run, after_run) becomes one C++ unit that the code
  object compiles inside a namespace of its own. A unit defines one kernel,

      int64_t _kernel(brian2cppyy::Slot* const _slots)

  whose arguments (array pointers, dynamic-array objects, constants) arrive
  in the slot array that the code object fills. The code generator emits
  the declarations that read those slots (load_namespace, as for Cython's
  target) and, for a kernel that draws random numbers, the lock of the
  shared random-number buffers (random_lock); the kernel places them first.
  The kernel returns a status code, or the number of returned elements for
  the getter templates.

  A C++ exception (e.g. thrown by a user's function) must not unwind into
  Python's C frames: BRIAN2CPPYY_CATCH_ALL stores its message and returns an
  error status, which the code object raises as a Python exception.

  Child templates fill the blocks `maincode`, `before_code`, `after_code`
  and may add `template_support_code`.

  The unit's namespace is the code object's: before it goes `preamble`
  (the headers that the functions' code includes, include_lines), after it
  `epilogue` (#undef of the macros that the functions' code defines,
  defined_macros), so that nothing leaks into later units. The runtime
  headers a template uses are its INCLUDES.
#}
{% macro preamble() %}
{{ include_lines | autoindent }}
{% endmacro %}

{% macro epilogue() %}
{% for name in defined_macros %}
#undef {{ name }}
{% endfor %}
{% endmacro %}

{% macro _unit_head() %}
// ---- support code (functions used by this code object)
{{ support_code_lines | autoindent }}
// ---- hash defines
{{ hashdefine_lines | autoindent }}
{% endmacro %}

{% macro before_run() %}
{{ _unit_head() }}
int64_t _kernel(brian2cppyy::Slot* const _slots)
{
    {{ load_namespace | autoindent }}
    {{ random_lock }}
    try {
    {% block before_code %}
    // EMPTY_CODE_BLOCK
    {% endblock %}
    } BRIAN2CPPYY_CATCH_ALL
    return 0;
}
{% endmacro %}

{% macro run() %}
{{ _unit_head() }}
{% block template_support_code %}
{% endblock %}
int64_t _kernel(brian2cppyy::Slot* const _slots)
{
    {{ load_namespace | autoindent }}
    {{ random_lock }}
    {{ denormals_code_lines | autoindent }}
    try {
    {% block maincode %}
    {% endblock %}
    } BRIAN2CPPYY_CATCH_ALL
    return 0;
}
{% endmacro %}

{% macro after_run() %}
{{ _unit_head() }}
int64_t _kernel(brian2cppyy::Slot* const _slots)
{
    {{ load_namespace | autoindent }}
    {{ random_lock }}
    try {
    {% block after_code %}
    // EMPTY_CODE_BLOCK
    {% endblock %}
    } BRIAN2CPPYY_CATCH_ALL
    return 0;
}
{% endmacro %}
