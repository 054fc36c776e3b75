{# USES_VARIABLES { _spikespace, neuron_index, _timebins, _period_bins, _lastindex, t_in_timesteps, N } #}
{#  SpikeGeneratorGroup: emits the spikes whose time bin has been reached
    (the spikes are sorted by time bin; with a period, the time bin wraps
    around and the position restarts at 0). #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    const int32_t _the_period = {{ _period_bins }};
    int32_t _timebin = {{ t_in_timesteps }};
    const size_t _N = {{ constant_or_scalar('N', variables['N']) }};
    if (_the_period > 0)
    {
        _timebin %= _the_period;
        // a new period: start again at the first spike
        if ({{ _lastindex }} > 0 && {{ _timebins }}[{{ _lastindex }} - 1] >= _timebin)
            {{ _lastindex }} = 0;
    }
    int32_t _num_spikes = 0;
    for (size_t _idx = {{ _lastindex }}; _idx < _num_timebins; _idx++)
    {
        if ({{ _timebins }}[_idx] > _timebin)
            break;
        {{ _spikespace }}[_num_spikes++] = {{ neuron_index }}[_idx];
    }
    {{ _spikespace }}[_N] = _num_spikes;
    {{ _lastindex }} += _num_spikes;
{% endblock %}
