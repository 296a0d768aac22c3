"""architecture.md, checked: layers import only downwards, no import circle, no god-module or god-function."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "artstyle"

# The layers of architecture.md, by module prefix (longest prefix wins).
LAYERS = {
    "artstyle.constants": 0, "artstyle.errors": 0, "artstyle.styles": 0, "artstyle.config": 0, "artstyle.settings": 0,
    "artstyle.runs": 0, "artstyle.dist": 0, "artstyle.tables": 0, "artstyle.environment": 0, "artstyle": 0,
    "artstyle.metrics": 1, "artstyle.figures": 1, "artstyle.embeddings": 1,
    "artstyle.engine": 2, "artstyle.compiling": 2, "artstyle.training_state": 2, "artstyle.schedules": 2, "artstyle.models": 2, "artstyle.data": 2, "artstyle.inference": 2,
    "artstyle.classify": 3, "artstyle.embed": 3, "artstyle.cluster": 3, "artstyle.stylize": 3, "artstyle.lora": 3,
    "artstyle.pipeline": 4, "artstyle.report": 4, "artstyle.api": 4, "artstyle.serve": 4,
    "artstyle.commands": 5, "artstyle.cli": 5, "artstyle.__main__": 5,
}
# A stage may use another stage's public loader and nothing else of it (architecture.md, layer 3).
PUBLIC_LOADERS = {"artstyle.classify", "artstyle.classify.config", "artstyle.classify.load", "artstyle.embed",
                  "artstyle.embed.config"}
# Layer 4 composes stages through what their packages export (and their torch-free configs), never their submodules.
STAGES = ("artstyle.classify", "artstyle.embed", "artstyle.cluster", "artstyle.stylize", "artstyle.lora")
# Lazy re-exports up the layers, resolved on first attribute access: `artstyle.load` is the API's.
LAZY_REEXPORTS = {("artstyle", "artstyle.api")}
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 85


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _stage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _imports(path: Path, top_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("artstyle"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("artstyle"))
    return found


def test_layers_import_only_downwards() -> None:
    wrong = []
    for module, path in _modules().items():
        for target in _imports(path, top_only=False):
            same_stage = _stage(target) == _stage(module)
            if same_stage or (module, target) in LAZY_REEXPORTS:
                continue
            if _layer(module) == 4 and _layer(target) == 3 and target not in STAGES and \
                    target not in {f"{s}.config" for s in STAGES}:
                wrong.append(f"{module} uses {target}; layer 4 uses a stage's package exports only")
            if _layer(target) > _layer(module):
                wrong.append(f"{module} imports {target} (layer {_layer(module)} -> {_layer(target)})")
            elif _layer(target) == _layer(module) == 3 and target not in PUBLIC_LOADERS:
                wrong.append(f"{module} uses {target}, another stage's internals")
    assert not wrong, "\n".join(wrong)


def test_no_import_circle_at_module_level() -> None:
    modules = _modules()
    graph = {m: {t for t in _imports(p, top_only=True) if t in modules and t != m} for m, p in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    # a package importing its own submodule (re-exports) is not a circle unless the submodule imports it back
    circles = [(m, t) for m in graph for t in graph[m] if reaches(t, m, {t}) and not m.startswith(t + ".")]
    assert not circles, circles


def test_no_god_modules_or_functions() -> None:
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {n} lines")
    assert not long, long


def test_one_definition_of_each_shared_constant() -> None:
    names = ("IMAGE_EXTENSIONS", "SYNTHETIC_MARKER", "SYNTHETIC_NOTE", "DATA_HELP", "SPLITS", "MARKER_NAME",
             "IMAGE_SUFFIXES")
    defined = []
    for module, path in _modules().items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign):
                defined += [f"{module}.{t.id}" for t in node.targets if isinstance(t, ast.Name) and t.id in names]
    assert all(d.startswith("artstyle.constants.") for d in defined), defined
