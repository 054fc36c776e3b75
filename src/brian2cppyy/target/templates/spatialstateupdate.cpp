{# USES_VARIABLES { Cm, dt, v, N, Ic, Ri,
                  _ab_star0, _ab_star1, _ab_star2, _b_plus, _b_minus,
                  _v_star, _u_plus, _u_minus,
                  _v_previous,
                  _gtot_all, _I0_all,
                  _c,
                  _P_diag, _P_parent, _P_children,
                  _B, _morph_parent_i, _starts, _ends,
                  _morph_children, _morph_children_num, _morph_idxchild,
                  _invr0, _invrn, _invr,
                  r_length_1, r_length_2, area } #}
{#  Follows Brian2's codegen/runtime/cython_rt/templates/spatialstateupdate.pyx
    (and its C++ twin, devices/cpp_standalone/templates/spatialstateupdate.cpp)
    step by step, so that results equal the other targets'; written anew for
    this target (Brian2 and brian2cppyy are both under the CeCILL-2.1 licence).

    SpatialNeuron: the implicit cable equation.

    before_run: axial conductances between compartments and the matrix
    coefficients of each section's tridiagonal system (a sealed or cut end
    at each side).

    run: (1) the total conductance and current of each compartment from the
    membrane equations; (2) per section, three tridiagonal solves (Thomas
    algorithm): the particular solution v* and the two homogeneous solutions
    u+ and u- (unit voltage at the section's ends); (3) the small coupling
    system for the voltages at the branch points, built and solved in O(n)
    over the morphology tree (children before parents, then parents before
    children); (4) v = v* + V_parent u- + V_end u+ per compartment, and the
    capacitive current. #}
{% extends 'common_group.cpp' %}
{% block before_code %}
    const size_t _n_comp = {{ constant_or_scalar('N', variables['N']) }};
    const double _axial_Ri = {{ Ri }};
    double* const _conductance = {{ _invr }};
    for (size_t _i = 1; _i < _n_comp; _i++)
        _conductance[_i] = 1.0 / (_axial_Ri * (1 / {{ r_length_2 }}[_i - 1] + 1 / {{ r_length_1 }}[_i]));
    // no axial current across the first compartment of a section
    for (size_t _s = 0; _s < _num_starts; _s++)
        _conductance[{{ _starts }}[_s]] = 0;
    // main diagonal, then the off-diagonals of the tridiagonal matrices
    for (size_t _i = 0; _i < _n_comp; _i++)
        {{ _ab_star1 }}[_i] = (-({{ Cm }}[_i] / {{ dt }}) - _conductance[_i] / {{ area }}[_i]);
    for (size_t _i = 1; _i < _n_comp; _i++)
    {
        {{ _ab_star0 }}[_i] = _conductance[_i] / {{ area }}[_i - 1];
        {{ _ab_star2 }}[_i - 1] = _conductance[_i] / {{ area }}[_i];
        {{ _ab_star1 }}[_i - 1] -= _conductance[_i] / {{ area }}[_i - 1];
    }
    // the ends of each section
    for (size_t _s = 0; _s < _num_starts; _s++)
    {
        const int32_t _first = {{ _starts }}[_s];
        const int32_t _last = {{ _ends }}[_s] - 1;
        const double _g_start = {{ r_length_1 }}[_first] / _axial_Ri;
        const double _g_end = {{ r_length_2 }}[_last] / _axial_Ri;
        {{ _invr0 }}[_s] = _g_start;
        {{ _invrn }}[_s] = _g_end;
        {{ _ab_star1 }}[_first] -= (_g_start / {{ area }}[_first]);
        {{ _ab_star1 }}[_last] -= (_g_end / {{ area }}[_last]);
        {{ _b_plus }}[_last] = -(_g_end / {{ area }}[_last]);
        {{ _b_minus }}[_first] = -(_g_start / {{ area }}[_first]);
    }
{% endblock %}

{% block maincode %}
    const size_t _n_comp = {{ constant_or_scalar('N', variables['N']) }};
    const double _dt = {{ dt }};
    double* const _V = {{ v }};
    double* const _vs = {{ _v_star }};
    double* const _up = {{ _u_plus }};
    double* const _um = {{ _u_minus }};
    double* const _cc = {{ _c }};
    double* const _Bv = {{ _B }};
    const size_t _n_sections = _num_B - 1;

    // (1) total conductance and current of each compartment
    const size_t _vectorisation_idx = 1;
    {{ scalar_code | autoindent }}
    for (size_t _idx = 0; _idx < _n_comp; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{ vector_code | autoindent }}
        {{ _gtot_all }}[_idx] = _gtot;
        {{ _I0_all }}[_idx] = _I0;
        {{ _v_previous }}[_idx] = _V[_idx];
    }

    // (2) per section: forward elimination and back substitution for
    // v*, u+ and u- (they share the matrix)
    for (size_t _s = 0; _s < _n_sections; _s++)
    {
        const int32_t _j_start = {{ _starts }}[_s];
        const int32_t _j_end = {{ _ends }}[_s];
        for (int32_t _j = _j_start; _j < _j_end; _j++)
        {
            _vs[_j] = -({{ Cm }}[_j] / _dt * _V[_j]) - {{ _I0_all }}[_j];
            _up[_j] = {{ _b_plus }}[_j];
            _um[_j] = {{ _b_minus }}[_j];
            const double _diag = {{ _ab_star1 }}[_j] - {{ _gtot_all }}[_j];
            if ((size_t)_j < _n_comp - 1)
                _cc[_j] = {{ _ab_star0 }}[_j + 1];
            if (_j > 0)
            {
                const double _lower = {{ _ab_star2 }}[_j - 1];
                const double _inv = 1.0 / (_diag - _lower * _cc[_j - 1]);
                _cc[_j] = _cc[_j] * _inv;
                _vs[_j] = (_vs[_j] - _lower * _vs[_j - 1]) * _inv;
                _up[_j] = (_up[_j] - _lower * _up[_j - 1]) * _inv;
                _um[_j] = (_um[_j] - _lower * _um[_j - 1]) * _inv;
            }
            else
            {
                _cc[0] = _cc[0] / _diag;
                _vs[0] = _vs[0] / _diag;
                _up[0] = _up[0] / _diag;
                _um[0] = _um[0] / _diag;
            }
        }
        for (int32_t _j = _j_end - 2; _j >= _j_start; _j--)
        {
            _vs[_j] = _vs[_j] - _cc[_j] * _vs[_j + 1];
            _up[_j] = _up[_j] - _cc[_j] * _up[_j + 1];
            _um[_j] = _um[_j] - _cc[_j] * _um[_j + 1];
        }
    }

    // (3) the coupling system: diagonal, one parent entry per row and the
    // children's entries (a row of _P_children per branch point)
    double* const _Pd = {{ _P_diag }};
    double* const _Pp = {{ _P_parent }};
    double* const _Pc = {{ _P_children }};
    const size_t _row = _num_morph_children / _num_morph_children_num;
    for (size_t _s = 0; _s < _n_sections; _s++)
    {
        const int32_t _parent = {{ _morph_parent_i }}[_s];
        const int32_t _child_pos = {{ _morph_idxchild }}[_s];
        const int32_t _first = {{ _starts }}[_s];
        const int32_t _last = {{ _ends }}[_s] - 1;
        const double _g_start = {{ _invr0 }}[_s];
        const double _g_end = {{ _invrn }}[_s];
        if (_s == 0)
        {
            // the root section has a sealed start
            _Pd[0] = _um[_first] - 1;
            _Pc[0] = _up[_first];
            _Bv[0] = -_vs[_first];
        }
        else
        {
            _Pd[_parent] += (1 - _um[_first]) * _g_start;
            _Pc[_parent * _row + _child_pos] = -_up[_first] * _g_start;
            _Bv[_parent] += _vs[_first] * _g_start;
        }
        _Pd[_s + 1] = (1 - _up[_last]) * _g_end;
        _Pp[_s] = -_um[_last] * _g_end;
        _Bv[_s + 1] = _vs[_last] * _g_end;
    }
    // eliminate the children's entries, from the leaves to the root
    for (int64_t _i = (int64_t)_num_B - 1; _i >= 0; _i--)
    {
        const int32_t _n_children = {{ _morph_children_num }}[_i];
        for (int32_t _k = 0; _k < _n_children; _k++)
        {
            const int32_t _child = {{ _morph_children }}[_i * _row + _k];
            const double _factor = _Pc[_i * _row + _k] / _Pd[_child];
            _Pd[_i] = _Pd[_i] - _factor * _Pp[_child - 1];
            _Bv[_i] = _Bv[_i] - _factor * _Bv[_child];
        }
    }
    // substitute from the root to the leaves
    _Bv[0] = _Bv[0] / _Pd[0];
    for (size_t _i = 1; _i < _num_B; _i++)
    {
        const int32_t _parent = {{ _morph_parent_i }}[_i - 1];
        _Bv[_i] = _Bv[_i] - _Pp[_i - 1] * _Bv[_parent];
        _Bv[_i] = _Bv[_i] / _Pd[_i];
    }

    // (4) the voltage from the section solutions, and the capacitive current
    for (size_t _s = 0; _s < _n_sections; _s++)
    {
        const int32_t _parent = {{ _morph_parent_i }}[_s];
        for (int32_t _j = {{ _starts }}[_s]; _j < {{ _ends }}[_s]; _j++)
        {
            if ((size_t)_j < _numv)
                _V[_j] = (_vs[_j] + _Bv[_parent] * _um[_j] + _Bv[_s + 1] * _up[_j]);
        }
    }
    for (size_t _i = 0; _i < _n_comp; _i++)
        {{ Ic }}[_i] = {{ Cm }}[_i] * (_V[_i] - {{ _v_previous }}[_i]) / _dt;
{% endblock %}
