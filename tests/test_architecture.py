"""The code's shape, as docs/ARCHITECTURE.md states it, checked on the source itself.

- No import cycles between the package's modules (imports at module level; an import inside
  a function is how a module says "at call time" and is allowed to point back).
- A blueprint never imports another blueprint, not even inside a function: what two areas
  share lives in a module of its own (`pages.py`, a service, a domain module).
- A module the architecture page calls **domain** imports nothing from Flask or its
  extensions, directly or through the package's other modules.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cbassess"
ARCHITECTURE = PACKAGE.parent / "docs" / "ARCHITECTURE.md"
FLASK = re.compile(r"^(flask|flask_\w+|werkzeug\.(wrappers|local|routing))(\.|$)")


@cache
def _tree(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))


MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))


def _imports(module: str, top_level_only: bool) -> tuple[set[str], set[str]]:
    """(the package's modules, the outside modules) that `module` imports."""
    tree = _tree(module)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    inside, outside = set(), set()
    for node in nodes:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                inside.add(node.module.split(".")[0])
            elif node.level == 1:
                inside.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("cbassess"):
                parts = node.module.split(".")
                inside.update([parts[1]] if len(parts) > 1 else
                              [alias.name for alias in node.names])
            elif node.module:
                outside.add(node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cbassess."):
                    inside.add(alias.name.split(".")[1])
                else:
                    outside.add(alias.name)
    return {name for name in inside if name in MODULES and name != module}, outside


def _blueprints() -> set[str]:
    return {module for module in MODULES
            if "Blueprint(" in (PACKAGE / f"{module}.py").read_text(encoding="utf-8")}


def _domain_modules() -> set[str]:
    """The modules whose row in the architecture page says **domain**."""
    found = re.findall(r"^\| `(\w+)\.py` \| \*\*domain\*\*", ARCHITECTURE.read_text(
        encoding="utf-8"), flags=re.MULTILINE)
    return set(found)


def test_the_package_has_no_import_cycles():
    graph = {module: _imports(module, top_level_only=True)[0] for module in MODULES}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in MODULES:
        if module not in done:
            visit(module, [module])
    assert not cycles, [" → ".join(cycle) for cycle in cycles]


def test_the_checks_see_the_blueprints_and_the_domain_modules():
    """So that the two tests below cannot pass by finding nothing."""
    assert {"auth", "answering", "review", "admin", "results"} <= _blueprints()
    assert {"scoring", "workflow", "instrument", "passwords"} <= _domain_modules()
    assert _domain_modules() <= set(MODULES)


@pytest.mark.parametrize("blueprint", sorted(_blueprints()))
def test_a_blueprint_imports_no_other_blueprint(blueprint):
    imported = _imports(blueprint, top_level_only=False)[0]
    assert not imported & (_blueprints() - {blueprint})


@pytest.mark.parametrize("module", sorted(_domain_modules()))
def test_a_domain_module_needs_no_flask(module):
    seen, queue, flask = set(), [module], []
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        inside, outside = _imports(current, top_level_only=False)
        flask += [f"{current} imports {name}" for name in outside if FLASK.match(name)]
        queue.extend(inside)
    assert not flask
