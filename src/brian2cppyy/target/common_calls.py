"""Repeated calls of pure maths functions in a kernel's vector code, computed
once per index: a statement ``_cse_k := exp(...)`` before their first use.

Brian2's state updaters repeat whole calls: exponential Euler writes the
coefficients A and B of each variable twice (``_BA_h = B/A`` and
``exp(dt*A)``), so a Hodgkin-Huxley model's update calls ``exp``/``exprel``
19 times with 11 distinct arguments. Each call inlines our vectorised maths
(``brian2cppyy::vmath``), and Cling optimises every copy before it merges
them: the state update of ``hh_expeuler`` compiles in 221 instead of 243 ms
CPU in a fresh process (3 alternating samples; compiled again in the same
process, 161 instead of 225 ms). The machine code's speed is the same (LLVM
merges the copies in the end; gcc does in Cython's code), and so are the
results: the same function of the same value, computed once.

What is merged: calls of Brian2's default functions that return a double
whatever their argument (`PURE`, and only where the code object uses
Brian2's implementation) whose arguments call nothing else (no ``rand()``),
and powers of such calls as a whole (``exp(a)**b``, which the renderer
writes as ``exp(a*b)``; its base alone is not merged), that occur at least
twice in a stretch of the vector statements in which no statement assigns
a name the call reads (the stretch ends with the first
statement that does: its own expression still reads the old value).
Statements whose expression Brian2 rewrote for boolean variables
(``used_boolean_variables``: alternatives chosen at run time) are left as
they are. A call repeated both inside a merged call and elsewhere is merged
in turn.
"""

import ast
import itertools
from collections import Counter

import numpy as np
from brian2.codegen.statements import Statement
from brian2.core.functions import DEFAULT_FUNCTIONS

__all__ = ["merge", "PURE"]

#: Brian2's default functions whose value is a double that depends only on
#: their argument
PURE = frozenset({"exp", "exprel", "expm1", "log", "log10", "log1p", "sqrt", "sin", "cos",
                  "tan", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan"})

#: the prefix of the names of the merged calls' values
PREFIX = "_cse_"


def merge(statements, variables):
    """``statements`` (a block's vector statements) with every repeated call
    computed once (see the module docstring); the list is new, the
    statements it keeps are the originals or copies with new expressions."""
    pure = {name for name in PURE if variables.get(name) is DEFAULT_FUNCTIONS[name]}
    statements = list(statements)
    if not pure:
        return statements
    names = (f"{PREFIX}{k}" for k in itertools.count(1))
    found_calls = {}  # id(statement) -> its calls (`_statement_calls`), for those kept
    start = 0
    while True:
        found = _first_repeat(statements, start, lambda s: _statement_calls(s, pure, found_calls))
        if found is None:
            return statements
        start, end, call = found
        name = next(names)
        for i in range(start, end + 1):
            statements[i] = _replaced(statements[i], call, name)
        statements.insert(start, Statement(name, ":=", ast.unparse(call), "", np.float64,
                                           constant=True))
        # the statements before start have no repeat left: merging only
        # takes calls away; the new one may hold a repeat of its own


def _tree(statement):
    """The parsed expression of a statement that may be rewritten, or None."""
    if statement.used_boolean_variables:
        return None
    try:
        return ast.parse(str(statement.expr), mode="eval")
    except SyntaxError:
        return None


def _calls_nothing(node):
    return not any(isinstance(inner, ast.Call) for inner in ast.walk(node))


def _is_pure_call(node, pure):
    """A call of a ``pure`` function whose arguments call nothing."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in pure and not node.keywords
            and all(_calls_nothing(arg) for arg in node.args))


def _is_pure_power(node, pure):
    """``f(a)**b``, f a ``pure`` function, a and b calling nothing (the
    renderer writes ``exp(a)**b`` as ``exp(a*b)``: `generator`)."""
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
            and _is_pure_call(node.left, pure) and _calls_nothing(node.right))


def _calls(tree, pure):
    """The calls of ``pure`` functions in ``tree`` whose arguments call
    nothing, and the powers of such calls (as a whole, not their calls)."""
    bases = {id(node.left) for node in ast.walk(tree) if _is_pure_power(node, pure)}
    return [node for node in ast.walk(tree)
            if _is_pure_power(node, pure) or (_is_pure_call(node, pure) and id(node) not in bases)]


def _statement_calls(statement, pure, found_calls):
    """``({key: call}, Counter of keys)`` of a statement's `_calls`
    (``key``: ``ast.dump``), computed once per statement object."""
    known = found_calls.get(id(statement))
    if known is not None and known[0] is statement:
        return known[1]
    tree = _tree(statement)
    found = _calls(tree, pure) if tree is not None else []
    keys = [ast.dump(call) for call in found]
    calls = (dict(zip(keys, found)), Counter(keys))
    found_calls[id(statement)] = (statement, calls)
    return calls


def _first_repeat(statements, first, calls_of):
    """``(start, end, call)``: the first call from statement ``first`` on that
    occurs twice or more in statements ``start`` to ``end`` (``end``: the last
    one before a statement that assigns what the call reads, or that
    statement), or None. ``calls_of(statement)``: `_statement_calls`."""
    for start in range(first, len(statements)):
        for key, call in calls_of(statements[start])[0].items():
            reads = {node.id for node in ast.walk(call) if isinstance(node, ast.Name)}
            count, end = 0, start
            for i in range(start, len(statements)):
                occurrences = calls_of(statements[i])[1][key]
                if occurrences:
                    count += occurrences
                    end = i
                if statements[i].var in reads:
                    break
            if count >= 2:
                return start, end, call
    return None


class _Replace(ast.NodeTransformer):
    """Every call (or power of a call, see `_calls`) equal to ``key``
    (``ast.dump``) replaced by ``name``."""

    def __init__(self, key, name):
        self.key, self.name, self.replaced = key, name, False

    def _found(self, node):
        if ast.dump(node) == self.key:
            self.replaced = True
            return ast.Name(id=self.name, ctx=ast.Load())
        return None

    def visit_BinOp(self, node):
        found = self._found(node)
        if found is not None:
            return found
        if isinstance(node.op, ast.Pow) and isinstance(node.left, ast.Call):
            node.right = self.visit(node.right)  # the power's base stays a call
            return node
        return self.generic_visit(node)

    def visit_Call(self, node):
        found = self._found(node)
        return found if found is not None else self.generic_visit(node)


def _replaced(statement, call, name):
    """``statement`` with every occurrence of ``call`` read from ``name``."""
    tree = _tree(statement)
    if tree is None:
        return statement
    replace = _Replace(ast.dump(call), name)
    tree = replace.visit(tree)
    if not replace.replaced:
        return statement
    return Statement(statement.var, statement.op, ast.unparse(tree), statement.comment,
                     statement.dtype, constant=statement.constant,
                     subexpression=statement.subexpression, scalar=statement.scalar)
