"""The names of the arrays in a kernel's source: taken from the code
object's variables, not from the objects' names, so that the same model in
another network (other object names) gives the same source and reuses the
compiled kernel (`jit` caches units by their source).

An array is named after the first, in alphabetical order, of the code
object's variables that refer to it (``v`` of a group: ``_ptr_arr_v``;
``v_pre`` and ``v_post`` of one group connected to itself: one array,
``_ptr_arr_v_post``). The device names it after its owner
(``_array_neurongroup_v``), as the other targets do.
"""

from brian2.core.variables import ArrayVariable

__all__ = ["ArrayNames"]


class ArrayNames:
    """``get_array_name(var, access_data=True)`` for the arrays of
    ``variables`` (which may grow while the code is generated: Brian2's GSL
    generator adds its arrays), with the signature of Brian2's
    `CPPCodeGenerator.get_array_name`: ``_ptr_arr_<name>``, the pointer to
    the data, or ``_dyn_<name>``, the dynamic array object. An array that is
    none of the variables' keeps the device's name."""

    def __init__(self, variables, device):
        self.variables = variables
        self.device = device
        self._first_names = {}  #: device's array name -> the first variable's name
        self._seen = 0  #: how many variables ``_first_names`` covers

    def __call__(self, var, access_data=True):
        device_name = self.device.get_array_name(var)
        name = self._first_name(device_name)
        if access_data:
            return f"_ptr_arr_{name}" if name else "_ptr" + device_name
        if name:
            return f"_dyn_{name}"
        return self.device.get_array_name(var, access_data=False)

    def _first_name(self, device_name):
        if self._seen != len(self.variables):
            first = {}
            for name, var in sorted(self.variables.items(), reverse=True):
                if isinstance(var, ArrayVariable):
                    first[self.device.get_array_name(var)] = name
            self._first_names = first
            self._seen = len(self.variables)
        return self._first_names.get(device_name)
