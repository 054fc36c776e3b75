"""Code that used to kill the process: integer division by zero in model
code, hardware faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL) in user C++
functions, and a second Ctrl-C during an endless loop in C++ code. Each
becomes a Python exception, no debugger dump is printed, and the process runs
further networks.

The scenarios run in a fresh Python process (a regression then fails the
test instead of killing pytest). One process runs all scenarios of a test in
a row, which also shows that the process survives each of them: it prints one
JSON line per scenario; a crash ends the output at the scenario that killed
it."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from brian2 import NeuronGroup

#: marks of Cling's crash report (a gdb stack dump)
DUMP_MARKS = ("*** Break ***", "Thread 1 (", "#0  ")

_PRELUDE = """
import json, signal, sys, threading, time, traceback
import numpy as np
import brian2cppyy
from brian2 import *
from brian2.core.base import BrianObjectException
prefs.codegen.target = 'cppyy'
prefs.codegen.string_expression_target = 'cppyy'
prefs.logging.warn_for_unused_objects = False

def chain(exc):
    found = []
    while exc is not None and len(found) < 5:
        found.append({'type': type(exc).__name__, 'message': str(exc)})
        exc = exc.__cause__ or exc.__context__
    return found

def healthy():
    '''A new network (drawing random numbers, several kernels) runs correctly.'''
    start_scope()
    H = NeuronGroup(4, 'dv/dt = -v/(2*ms) : 1\\nr : 1', threshold='v > 10', reset='v = 0',
                    method='exact')
    H.v = 'i + 1.0'
    H.r = 'rand()'
    net = Network(H)
    net.run(1*ms)
    ok = np.allclose(H.v[:], (np.arange(4) + 1) * np.exp(-0.5), rtol=1e-12)
    return bool(ok and 0 <= H.r[:].min() and H.r[:].max() < 1 and abs(float(net.t/ms) - 1) < 1e-9)

def scenario(name, action):
    print(json.dumps({'start': name}), flush=True)
    start_scope()
    try:
        action()
        result = {'name': name, 'raised': None}
    except BaseException as exc:
        result = {'name': name, 'raised': chain(exc)}
    result['healthy'] = healthy()
    print(json.dumps(result), flush=True)

def user_function(code):
    '''A user function 'bad_fn' whose C++ implementation is ``code``.'''
    @implementation('cpp', code)
    @check_units(x=1, result=1)
    def bad_fn(x):
        return x
    return bad_fn
"""


def _run_scenarios(script, timeout=600):
    """Run the prelude and ``script`` in a fresh process; the results by
    scenario name, and the process's stderr."""
    source = _PRELUDE + textwrap.dedent(script)
    proc = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                          timeout=timeout)
    results, started = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "start" in record:
                started = record["start"]
            else:
                results[record["name"]] = record
    assert proc.returncode == 0, (
        f"the process died (status {proc.returncode}) in scenario {started!r}:\n"
        f"{proc.stderr[-3000:]}"
    )
    for mark in DUMP_MARKS:
        assert mark not in proc.stderr, proc.stderr[-3000:]
    return results


# -- integer division by zero ---------------------------------------------------

_ZERO_DIVISION = """
def group(**kwds):
    G = NeuronGroup(3, 'k : integer\\nj : integer\\ns : integer', name='divgroup', **kwds)
    G.k = 7
    return G

def synapses(G, model='w : integer', on_pre=''):
    S = Synapses(G, G, model, on_pre=on_pre, name='divsyn')
    S.connect()
    return S

def setter():
    group().k = 'k // j'

def setter_mod():
    group().k = 'k % j'

def conditional_setter():
    G = group()
    G.k['i > 0'] = 'k // j'

def getter():
    G = group()
    return G.k['k // j > 0']

def run_regularly(fused=True):
    prefs.codegen.runtime.cppyy.fused_loop = fused
    G = group()
    G.run_regularly('k = k % j')
    Network(G).run(0.3*ms)

def threshold():
    Network(group(threshold='k // j > 0')).run(0.3*ms)

def reset():
    Network(group(threshold='True', reset='k = k // j')).run(0.3*ms)

def subexpression():
    G = NeuronGroup(3, 'q = k // j : integer\\nk : integer\\nj : integer', threshold='q > 0',
                    name='divgroup')
    Network(G).run(0.3*ms)

def connect_condition():
    G = group()
    Synapses(G, G, name='divsyn').connect(condition='i // j > 0')

def synapse_setter():
    G = group()
    synapses(G).w = '1 // w'

def on_pre():
    G = group(threshold='True')
    Network(G, synapses(G, on_pre='k_post = k_post // w')).run(0.3*ms)

def summed_variable():
    G = group()
    Network(G, synapses(G, 's_post = k_pre % j_pre : integer (summed)')).run(0.3*ms)

SCENARIOS = [setter, setter_mod, conditional_setter, getter, run_regularly,
             lambda: run_regularly(fused=False), threshold, reset, subexpression,
             connect_condition, synapse_setter, on_pre, summed_variable]
for k, action in enumerate(SCENARIOS):
    prefs.codegen.runtime.cppyy.fused_loop = True
    name = action.__name__ if action.__name__ != '<lambda>' else 'run_regularly_python_loop'
    scenario(name, action)
"""

#: the object each scenario's exception must name
_ZERO_DIVISION_OWNERS = {
    "connect_condition": "divsyn", "synapse_setter": "divsyn", "on_pre": "divsyn",
    "summed_variable": "divsyn",
}


def test_integer_division_by_zero_raises_zero_division_error():
    """In every kind of code object, ``//`` and ``%`` of integers by zero
    raise what the Cython target raises: a BrianObjectException naming the
    object, caused by ZeroDivisionError('integer division or modulo by
    zero'); in the fused loop too. The process runs new networks afterwards."""
    results = _run_scenarios(_ZERO_DIVISION)
    assert len(results) == 13, sorted(results)
    for name, result in results.items():
        raised = result["raised"]
        assert raised is not None, f"{name}: nothing raised"
        assert raised[0]["type"] == "BrianObjectException", (name, raised)
        owner = _ZERO_DIVISION_OWNERS.get(name, "divgroup")
        assert f"object named '{owner}'" in raised[0]["message"], (name, raised)
        assert raised[1] == {"type": "ZeroDivisionError",
                             "message": "integer division or modulo by zero"}, (name, raised)
        assert result["healthy"], name


@pytest.mark.parametrize("expression, expected", [
    ("1 / w", np.inf), ("v // w", np.inf), ("v % w", np.nan), ("k / j", np.inf),
])
def test_float_division_by_zero_gives_inf_or_nan(expression, expected):
    """Floating-point division by zero stays IEEE arithmetic (inf/nan, as with
    numpy and C++ standalone; no check on the float path). Integer ``/`` is
    a float division in Brian2."""
    G = NeuronGroup(3, "v : 1\nw : 1\nk : integer\nj : integer")
    G.v = 1.0
    G.k = 7
    G.v = expression
    np.testing.assert_array_equal(G.v[:], expected)


def test_integer_division_without_zero_keeps_python_semantics():
    """The divisor check does not change results: floor division and modulo
    follow Python for every sign combination."""
    G = NeuronGroup(8, "k : integer\nj : integer\nq : integer\nr : integer")
    G.k = [7, -7, 7, -7, 0, 5, -5, 13]
    G.j = [2, 2, -2, -2, 3, 5, 3, -4]
    G.q = "k // j"
    G.r = "k % j"
    k, j = np.array(G.k[:]), np.array(G.j[:])
    np.testing.assert_array_equal(G.q[:], k // j)
    np.testing.assert_array_equal(G.r[:], k % j)


# -- hardware faults ------------------------------------------------------------

_FAULTS = """

NULL_READ = 'double bad_fn(double x) { volatile double* p = nullptr; return *p + x; }'
INT_DIVISION = ('double bad_fn(double x) { volatile int zero = 0; '
                'return (double)(((int)x + 1) / zero); }')
TRAP = 'double bad_fn(double x) { __builtin_trap(); return x; }'
# the recursive call goes through a volatile pointer: with fast-math (the
# default), a direct call could be turned into a loop (reassociated
# accumulation) that never overflows the stack
RECURSION = ('double deep(double x, int n);\\n'
             'static double (*volatile deeper)(double, int) = deep;\\n'
             'double deep(double x, int n) { volatile char b[512]; b[0] = (char)n; '
             'return b[0] + deeper(x, n + 1) + 1.0; }\\n'
             'double bad_fn(double x) { return deep(x, 0); }')

def in_setter(code, expression='bad_fn(i)'):
    bad_fn = user_function(code)
    G = NeuronGroup(3, 'v : 1', name='faulty_group', namespace={'bad_fn': bad_fn})
    G.v = expression

def in_run(code, fused):
    prefs.codegen.runtime.cppyy.fused_loop = fused
    bad_fn = user_function(code)
    G = NeuronGroup(3, 'v : 1', name='faulty_group', namespace={'bad_fn': bad_fn})
    G.run_regularly('v = bad_fn(v)', name='faulty_op')
    Network(G).run(1*ms)

def in_thread(code):
    errors = []
    def work():
        try:
            in_setter(code)
        except BaseException as exc:
            errors.append(exc)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    raise errors[0]

scenario('null_read_setter', lambda: in_setter(NULL_READ))
scenario('null_read_fused_loop', lambda: in_run(NULL_READ, True))
scenario('null_read_python_loop', lambda: in_run(NULL_READ, False))
scenario('int_division_fused_loop', lambda: in_run(INT_DIVISION, True))
scenario('trap_setter', lambda: in_setter(TRAP))
scenario('stack_overflow_fused_loop', lambda: in_run(RECURSION, True))
# the kernel holds the random-number lock when it faults (healthy() draws again)
scenario('null_read_with_random_lock', lambda: in_setter(NULL_READ, 'bad_fn(rand())'))
scenario('null_read_other_thread', lambda: in_thread(NULL_READ))
"""

_FAULT_KINDS = {
    "null_read_setter": ("SIGSEGV", "faulty_group_group_variable_set_conditional_codeobject"),
    "null_read_fused_loop": ("SIGSEGV", "faulty_op_codeobject"),
    "null_read_python_loop": ("SIGSEGV", "faulty_op_codeobject"),
    "int_division_fused_loop": ("SIGFPE (arithmetic error: integer division by zero)",
                                "faulty_op_codeobject"),
    "trap_setter": ("SIGILL", "faulty_group_group_variable_set_conditional_codeobject"),
    "stack_overflow_fused_loop": ("SIGSEGV", "faulty_op_codeobject"),
    "null_read_with_random_lock": ("SIGSEGV",
                                   "faulty_group_group_variable_set_conditional_codeobject"),
    "null_read_other_thread": ("SIGSEGV",
                               "faulty_group_group_variable_set_conditional_codeobject"),
}


def test_hardware_faults_become_kernel_faults():
    """A SIGSEGV (null pointer, stack overflow), SIGFPE or SIGILL in a user's
    C++ function, in a setter, Brian2's loop, the fused loop or another
    thread: a BrianObjectException for the group, caused by a KernelFault
    whose message names the signal, the code object and the user function,
    and warns that the process state may be damaged. No debugger dump; the
    process (also the random-number lock) works afterwards."""
    results = _run_scenarios(_FAULTS, timeout=300)
    assert set(results) == set(_FAULT_KINDS)
    for name, (signal_text, code_object) in _FAULT_KINDS.items():
        result = results[name]
        raised = result["raised"]
        assert raised is not None, f"{name}: nothing raised"
        assert raised[0]["type"] == "BrianObjectException", (name, raised)
        assert "object named 'faulty_group'" in raised[0]["message"], (name, raised)
        fault = raised[1]
        assert fault["type"] == "KernelFault", (name, raised)
        message = fault["message"]
        assert f"hardware fault: {signal_text}" in message, (name, message)
        assert f"code object '{code_object}'" in message, (name, message)
        assert "function(s) 'bad_fn'" in message, (name, message)
        assert "restart the Python process" in message, (name, message)
        assert result["healthy"], name


# -- Ctrl-C in an endless loop ----------------------------------------------------

_ENDLESS_LOOP = """
started = np.zeros(1, dtype=np.int64)
SPIN = ('double bad_fn(double x) { *(volatile long*)%dL = 1; volatile long k = 0; '
        'while (true) { k = k + 1; } return x; }' % started.ctypes.data)

def press_ctrl_c_twice():
    '''Like a user: Ctrl-C once the endless loop runs, and again a bit later.'''
    def press():
        while started[0] == 0:
            time.sleep(0.01)
        for _ in range(2):
            time.sleep(0.2)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    started[0] = 0
    threading.Thread(target=press, daemon=True).start()

def spin_in_setter():
    press_ctrl_c_twice()
    bad_fn = user_function(SPIN)
    G = NeuronGroup(3, 'v : 1', name='spinning_group', namespace={'bad_fn': bad_fn})
    G.v = 'bad_fn(i)'

def spin_in_run(fused):
    prefs.codegen.runtime.cppyy.fused_loop = fused
    press_ctrl_c_twice()
    bad_fn = user_function(SPIN)
    G = NeuronGroup(3, 'v : 1', name='spinning_group', namespace={'bad_fn': bad_fn})
    G.run_regularly('v = bad_fn(v)', name='spinning_op')
    Network(G).run(1*ms)


WAIT = ('double bad_fn(double x) { *(volatile long*)%dL = 1; '
        'auto t0 = std::chrono::steady_clock::now(); '
        'while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(700)) {} '
        'return x + 1; }' % started.ctypes.data)

def ignored_ctrl_c():
    '''With SIGINT ignored, two Ctrl-C do not leave a (slow) kernel either.'''
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        press_ctrl_c_twice()
        bad_fn = user_function(WAIT)
        G = NeuronGroup(1, 'v : 1', name='waiting_group', namespace={'bad_fn': bad_fn})
        G.v = 'bad_fn(i)'
        assert G.v[0] == 1.0
    finally:
        signal.signal(signal.SIGINT, previous)

scenario('setter', spin_in_setter)
scenario('fused_loop', lambda: spin_in_run(True))
scenario('python_loop', lambda: spin_in_run(False))
scenario('ignored', ignored_ctrl_c)
"""


def test_second_ctrl_c_leaves_an_endless_loop():
    """An endless loop in a user's C++ function: the first Ctrl-C is Python's
    (Brian2's graceful stop, which cannot happen), the second leaves the
    kernel with a KeyboardInterrupt that names the code object and the
    function and warns that the process state may be damaged; in a setter,
    in Brian2's loop and in the fused loop. The process runs on. When SIGINT
    is ignored (``SIG_IGN``), Ctrl-C does not leave a kernel either."""
    results = _run_scenarios(_ENDLESS_LOOP, timeout=300)
    codeobjects = {
        "setter": "spinning_group_group_variable_set_conditional_codeobject",
        "fused_loop": "spinning_op_codeobject",
        "python_loop": "spinning_op_codeobject",
    }
    assert set(results) == set(codeobjects) | {"ignored"}
    assert results["ignored"]["raised"] is None, results["ignored"]
    for name, code_object in codeobjects.items():
        raised = results[name]["raised"]
        assert raised is not None, f"{name}: nothing raised"
        assert raised[0]["type"] == "KeyboardInterrupt", (name, raised)
        message = raised[0]["message"]
        assert message.startswith("Interrupted by a second Ctrl-C"), (name, message)
        assert f"code object '{code_object}'" in message, (name, message)
        assert "function(s) 'bad_fn'" in message, (name, message)
        assert "restart the Python process" in message, (name, message)
        assert results[name]["healthy"], name
