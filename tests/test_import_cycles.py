"""No two modules of brian2cppyy import each other, directly or through
others, at module level or inside a function (either way one of them cannot
be understood, or loaded, without the other). Read from the sources: every
``import`` statement that names a module of the package. Importing the
package itself (``from .. import __version__``) is no edge: every module's
package is loaded before it anyway."""

import ast
import os

import brian2cppyy

PACKAGE_DIR = os.path.dirname(brian2cppyy.__file__)


def _modules():
    """``{dotted name: path}`` of the package's modules."""
    modules = {}
    root = os.path.dirname(PACKAGE_DIR)
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                modules[dotted.removesuffix(".__init__")] = path
    return modules


def _imported(module, path, node, modules):
    """The modules of the package that one import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    parts = module.split(".")
    if not path.endswith("__init__.py"):
        parts = parts[:-1]  # a module's relative imports start at its package
    if node.level:
        parts = parts[: len(parts) - node.level + 1]
    base = ".".join(parts + ([node.module] if node.module else [])) if node.level else node.module
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names]


def _import_graph():
    modules = _modules()
    packages = {name for name, path in modules.items() if path.endswith("__init__.py")}
    graph = {}
    for module, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read())
        graph[module] = {
            target
            for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for target in _imported(module, path, node, modules)
            if target in modules and target not in packages and target != module
        }
    return graph


def _reachable(graph, start):
    seen, stack = set(), [start]
    while stack:
        for target in graph[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_the_graph_sees_imports():
    """The reader finds the imports it is meant to judge (a broken reader
    would find no cycle either)."""
    graph = _import_graph()
    assert "brian2cppyy.cling.runtime" in graph["brian2cppyy.cling.contract"]
    assert "brian2cppyy.target.kernel" in graph["brian2cppyy.target.codeobject"]


def test_no_import_cycles():
    graph = _import_graph()
    cycles = sorted({tuple(sorted((module, target)))
                     for module, targets in graph.items() for target in targets
                     if module in _reachable(graph, target)})
    assert cycles == []
