"""The import rules, read from the source with `ast` (every import counts, also one inside a
function): no cycles; kit imports no deployments or actors; models import only kit and models;
actors never import deployments; within the layers routers -> services -> repositories -> models
(a repository imports no service or router, a service no router); no module imports another
domain's repository (a domain asks another's service); realtime never imports chat; only the
resources' own plumbing touches `app.state`."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("deployments", "kit", "actors", "models")

# Modules that may read `app.state`: where the resources are stored and found.
APP_STATE_READERS = {"kit.resources", "kit.db", "deployments.app"}


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, *([base] if base else [])])
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base for alias in node.names]


@cache
def imports() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports (a name imported from a package counts as the package)."""
    graph = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text(), str(path))
        found = set()
        for node in ast.walk(tree):
            for target in _targets(node, module, path.name == "__init__.py"):
                while target and target not in modules():
                    target = target.rpartition(".")[0]
                if target and target != module:
                    found.add(target)
        graph[module] = frozenset(found)
    return graph


def domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "deployments" and len(parts) > 2 else None


def layer(module: str) -> str | None:
    name = module.rpartition(".")[2]
    if name == "router" or name.endswith("_router"):
        return "router"
    return name if name in ("service", "repository") else None


def edges():
    return [(a, b) for a, targets in imports().items() for b in targets]


def test_the_rules_see_the_code():
    assert {"deployments.app", "deployments.realtime.socket", "kit.resources", "models.user"} <= set(modules())
    assert ("deployments.chat.router", "deployments.chat.service") in edges()


def test_no_import_cycles():
    graph, index, low, stack, cycles = imports(), {}, {}, [], []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []


def test_kit_imports_no_deployments_or_actors():
    assert [(a, b) for a, b in edges() if a.startswith("kit") and b.split(".")[0] in ("deployments", "actors")] == []


def test_models_import_only_kit_and_models():
    assert [(a, b) for a, b in edges() if a.startswith("models") and b.split(".")[0] not in ("kit", "models")] == []


def test_actors_never_import_deployments():
    assert [(a, b) for a, b in edges() if a.startswith("actors") and b.startswith("deployments")] == []


def test_layers_point_down():
    wrong = [
        (a, b)
        for a, b in edges()
        if (layer(a) == "repository" and layer(b) in ("service", "router"))
        or (layer(a) == "service" and layer(b) == "router")
    ]
    assert wrong == []


def test_no_module_imports_another_domains_repository():
    crossing = {
        (a, b) for a, b in edges() if layer(b) == "repository" and domain(a) is not None and domain(a) != domain(b)
    }
    assert crossing == set()


def test_realtime_never_imports_chat():
    assert [(a, b) for a, b in edges() if domain(a) == "realtime" and domain(b) == "chat"] == []


def test_only_the_resources_plumbing_reads_app_state():
    readers = {module for module, path in modules().items() if re.search(r"\bapp\.state\b", path.read_text())}
    assert readers <= APP_STATE_READERS
