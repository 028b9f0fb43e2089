"""The package's shape: imports point one way (data -> features -> forecast -> evaluation and
optimise -> report -> runs -> experiments -> cli), modules stay small, and tests import only the
package.

A module may import modules of its own layer group or of a lower layer. Within the forecast, the
negative binomial parts sit below the objects built on them, and those below the models; the
config sits above the models (it is built from their settings) and below the stages (which read
it). A new module must be given a layer here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "demandmatch"
LAYERS = {
    "demandmatch.data": 0,
    "demandmatch.timing": 0,
    "demandmatch.errors": -1,
    "demandmatch.staging": -0.5,
    "demandmatch.features": 1,
    "demandmatch.simulate": 1,
    "demandmatch.forecast.distributions": 2.0,
    "demandmatch.forecast.negbin": 2.1,
    "demandmatch.forecast.calibration": 2.2,
    "demandmatch.forecast.holdout": 2.2,
    "demandmatch.forecast.rounds": 2.2,
    "demandmatch.forecast.returns": 2.2,
    "demandmatch.forecast.rows": 2.2,
    "demandmatch.forecast.models": 2.3,
    "demandmatch.forecast": 2.4,
    "demandmatch.config": 3,
    "demandmatch.forecast.stages": 4,
    "demandmatch.censoring": 4.5,
    "demandmatch.optimise": 5,
    "demandmatch.evaluation": 6,
    "demandmatch.compliance": 6.5,  # risk signals on a plan, read by the report
    "demandmatch.engine": 6.5,  # Dask: the stages on a cluster, below the wiring that picks it
    "demandmatch.report": 7,
    "demandmatch.tracking": 7,
    "demandmatch.tracking_runs": 7.05,  # runs opened by the experiments and found again
    "demandmatch.tracking_registry": 7.1,  # the model registry, over the runs it registers
    "demandmatch.catalog": 1,  # merchants' catalog files, checked against the data contract
    "demandmatch.sheets": 1.5,  # a data table's .xlsx, read by the catalog's reader
    "demandmatch.store": 7.5,  # the versioned catalog store, over the catalog engine
    "demandmatch.api": 8.5,  # the catalog service, over the store
    "demandmatch.preflight": 7.9,
    "demandmatch.records": 7.95,
    "demandmatch.runs": 8,
    "demandmatch.config_docs": 8,
    "demandmatch.experiments": 8.7,  # experiments: files, runs, comparisons, over runs/evaluation
    "demandmatch.cli_errors": 8.8,
    "demandmatch.progress": 8.8,
    "demandmatch.cli": 9,
    "demandmatch": 10,
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _group(module: str) -> str:
    """The most specific layer entry a module falls under."""
    keys = [k for k in LAYERS if module == k or module.startswith(k + ".")]
    specific = max(keys, key=len)
    assert specific != "demandmatch" or module == "demandmatch", f"give {module} a layer in LAYERS"
    return specific


def _imports(path: Path) -> set[str]:
    """The demandmatch modules a file imports, relative imports resolved, wherever they sit
    (function bodies and TYPE_CHECKING blocks included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
    return {m for m in found if m == "demandmatch" or m.startswith("demandmatch.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_point_one_way(path: Path):
    source = _group(_module_name(path))
    for target in _imports(path):
        group = _group(target)
        assert group == source or LAYERS[group] < LAYERS[source], (
            f"{_module_name(path)} (layer {LAYERS[source]}) imports {target} "
            f"(layer {LAYERS[group]}): dependencies point from data to the command, not back"
        )


def test_no_module_is_long():
    long = {
        _module_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by what they do: {long}"


def test_tests_import_the_package_not_scripts_or_paths():
    for path in (ROOT / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "path":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "sys"), path
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += (
                    [a.name for a in getattr(node, "names", [])]
                    if isinstance(node, ast.Import)
                    else []
                )
                for n in names:
                    assert not n.startswith(("bench", "experiments", "benchmarks")), (path, n)
