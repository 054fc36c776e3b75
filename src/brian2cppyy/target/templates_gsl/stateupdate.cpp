{# USES_VARIABLES { N } #}
{# ITERATE_ALL { _idx } #}
{# ALLOWS_SCALAR_WRITE #}
{#
  brian2cppyy: one time step of the state update with GSL's ODE solvers
  (method='gsl', 'gsl_rkf45', ...), for every element of the group.

  Brian2's GSL generator provides, in the support code: the struct
  `_dataholder` (the element index and what the equations read), the ODE
  system function `_GSL_func`, `set_dimension`, and `_fill_y_vector` /
  `_empty_y_vector`, which copy the state variables of one element into GSL's
  y vector and back. scalar_code['GSL'] fills the data holder. The keywords:
  GSL_settings (method_options with 'integrator' and 'dt_start'),
  n_diff_vars, define_GSL_scale_array (the absolute error per variable),
  t_array, dt_array, define_dt and pointer_last_timestep /
  pointer_failed_steps / pointer_step_count (the statistics' array elements,
  None unless requested).

  If GSL cannot integrate an element over the step, the kernel stores the
  element's index, the step's start time and whether GSL reported an error
  (its message: brian2cppyy::last_error_message()) in _error_record and
  returns brian2cppyy::ERR_GSL_INTEGRATION, which the code object raises as
  an integration error.
#}
{% extends 'common_group.cpp' %}
{% block template_support_code %}
// Frees the GSL driver when the kernel returns, also through an exception
struct _GSLDriverOwner {
    gsl_odeiv2_driver* const driver;
    explicit _GSLDriverOwner(gsl_odeiv2_driver* d) : driver(d) {}
    ~_GSLDriverOwner() { if (driver) gsl_odeiv2_driver_free(driver); }
    _GSLDriverOwner(const _GSLDriverOwner&) = delete;
    _GSLDriverOwner& operator=(const _GSLDriverOwner&) = delete;
};
// GSL's default error handler aborts the process. While the kernel runs,
// errors are recorded instead (GSL's functions then return the error code).
static void _GSL_record_error(const char* reason, const char* file, int line, int gsl_errno)
{
    std::snprintf(brian2cppyy::error_message_buffer(), brian2cppyy::ERROR_MESSAGE_CAPACITY,
                  "%s (%s, %s:%d)", reason, gsl_strerror(gsl_errno), file, line);
}
struct _GSLErrorHandlerScope {
    gsl_error_handler_t* const previous;
    _GSLErrorHandlerScope() : previous(gsl_set_error_handler(&_GSL_record_error))
    {
        brian2cppyy::set_last_error_message("");
    }
    ~_GSLErrorHandlerScope() { gsl_set_error_handler(previous); }
    _GSLErrorHandlerScope(const _GSLErrorHandlerScope&) = delete;
    _GSLErrorHandlerScope& operator=(const _GSLErrorHandlerScope&) = delete;
};
{% endblock %}
{% block maincode %}
    {% set settings = GSL_settings %}
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    // scalar code
    const size_t _vectorisation_idx = 1;
    {% if define_dt %}
    const double dt = {{ dt_array }};
    {% endif %}
    _dataholder _GSL_dataholder;
    double _GSL_y[{{ n_diff_vars }}];
    {{ define_GSL_scale_array }}
    {{ scalar_code['GSL'] | autoindent }}

    const _GSLErrorHandlerScope _GSL_error_handler;
    gsl_odeiv2_system _GSL_system;
    _GSL_system.function = _GSL_func;
    _GSL_system.jacobian = nullptr;
    set_dimension(&_GSL_system.dimension);
    _GSL_system.params = &_GSL_dataholder;
    // absolute error bound of variable k: 1 * _GSL_scale_array[k]
    const _GSLDriverOwner _GSL_owner(gsl_odeiv2_driver_alloc_scaled_new(
        &_GSL_system, gsl_odeiv2_step_{{ settings['integrator'] }},
        {{ settings['dt_start'] }}, 1.0, 0.0, 0.0, 0.0, _GSL_scale_array));
    gsl_odeiv2_driver* const _GSL_driver = _GSL_owner.driver;
    if (_GSL_driver == nullptr)
        throw std::runtime_error("GSL could not allocate the ODE driver: "
                                 + std::string(brian2cppyy::last_error_message()));
    gsl_odeiv2_driver_set_nmax(_GSL_driver, {{ settings['max_steps'] }});
    gsl_odeiv2_driver_set_hmax(_GSL_driver, {{ settings['dt_start'] }});

    // vector code
    for (size_t _idx = 0; _idx < _N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        double t = {{ t_array }};
        const double _GSL_t_start = t;
        _GSL_dataholder._idx = _idx;
        _fill_y_vector(&_GSL_dataholder, _GSL_y, _idx);
        {% if settings['use_last_timestep'] %}
        gsl_odeiv2_driver_reset_hstart(_GSL_driver, {{ pointer_last_timestep }});
        {% else %}
        gsl_odeiv2_driver_reset(_GSL_driver);
        {% endif %}
        {% if settings['adaptable_timestep'] %}
        if (gsl_odeiv2_driver_apply(_GSL_driver, &t, _GSL_t_start + dt, _GSL_y) != GSL_SUCCESS)
        {% else %}
        if (gsl_odeiv2_driver_apply_fixed_step(_GSL_driver, &t, dt, 1, _GSL_y) != GSL_SUCCESS)
        {% endif %}
        {
            _error_record->value = (int64_t)_idx;
            _error_record->time = _GSL_t_start;
            _error_record->has_message = brian2cppyy::last_error_message()[0] != '\0' ? 1 : 0;
            return brian2cppyy::ERR_GSL_INTEGRATION;
        }
        {% if settings['use_last_timestep'] %}
        {{ pointer_last_timestep }} = _GSL_driver->h;
        {% endif %}
        {% if settings['save_failed_steps'] %}
        {{ pointer_failed_steps }} = (int32_t)_GSL_driver->e->failed_steps;
        {% endif %}
        {% if settings['save_step_count'] %}
        {{ pointer_step_count }} = (int32_t)_GSL_driver->n;
        {% endif %}
        _empty_y_vector(&_GSL_dataholder, _GSL_y, _idx);
    }
{% endblock %}
