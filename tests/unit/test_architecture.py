"""Architecture contracts (DESIGN.md section 6) checked on every test run."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grimp
from importlinter import configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[2]


def _contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        config = tomllib.load(handle)["tool"]["importlinter"]
    return list(config["contracts"])


def _contract(kind: str, name_starts: str = "") -> dict[str, Any]:
    found = [c for c in _contracts() if c["type"] == kind and c["name"].startswith(name_starts)]
    assert len(found) == 1, f"one {kind} contract {name_starts!r} expected, found {len(found)}"
    return found[0]


CONTRACT_TYPES: dict[str, Any] = {"acyclic_siblings": AcyclicSiblingsContract,
                                  "forbidden": ForbiddenContract,
                                  "independence": IndependenceContract,
                                  "layers": LayersContract}


def _kept(options: dict[str, Any], graph: grimp.ImportGraph) -> bool:
    """Whether one contract of pyproject.toml holds on this graph (as lint-imports checks)."""
    configuration.configure()  # what lint-imports sets up before checking
    contract = CONTRACT_TYPES[options["type"]](
        name=options["name"], session_options={"root_packages": ["pipelines", "dashboard"]},
        contract_options={k: str(v).lower() if isinstance(v, bool) else v  # as read by lint-imports
                          for k, v in options.items() if k not in ("name", "type")})
    return bool(contract.check(graph, verbose=False).kept)


def test_every_import_contract_is_kept() -> None:
    """lint-imports passes, and reports each contract of pyproject.toml as kept by name
    (a contract added later is covered without touching this test)."""
    names = [c["name"] for c in _contracts()]
    assert names
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in names:
        assert f"{name} KEPT" in result.stdout, f"{name!r} not reported kept:\n{result.stdout}"


def test_contract_is_not_vacuous() -> None:
    """The contract names the UI packages, so a new `import dash` in pipelines would break it."""
    contract = _contract("forbidden", "The write side")
    assert contract["source_modules"] == ["pipelines"]
    for module in ("dashboard", "dash", "plotly", "flask"):
        assert module in contract["forbidden_modules"]


def _pipelines_graph() -> grimp.ImportGraph:
    return grimp.build_graph("pipelines", "dashboard", include_external_packages=True,
                             cache_dir=None)


def _acyclic_kept(graph: grimp.ImportGraph) -> bool:
    return _kept(_contract("acyclic_siblings"), graph)


def test_write_side_cycle_breaks_the_contract() -> None:
    """The acyclic contract as configured holds today, and breaks when a module that
    keeps derived data calls back into the module that orders them (the cycles issue 16
    removed: summaries <-> membership, derive -> summaries), or the store protocol
    reaches into the domain, so it is not vacuous."""
    assert _acyclic_kept(_pipelines_graph())
    for importer, imported in (("pipelines.membership", "pipelines.refresh"),
                               ("pipelines.derive", "pipelines.refresh"),
                               ("pipelines.summaries", "pipelines.refresh"),
                               ("pipelines.store", "pipelines.business_settings")):
        graph = _pipelines_graph()
        graph.add_import(importer=importer, imported=imported)
        assert not _acyclic_kept(graph), f"{importer} -> {imported} went unnoticed"


def test_read_sql_outside_reports_breaks_the_contract() -> None:
    """Only dashboard.reports imports the SQL door: the contract holds today and breaks
    when a page, the API, the command line or an export imports it (as pages/visits.py
    once did to read department names), while the reports' own modules may."""
    options = _contract("forbidden", "Only dashboard.reports")
    assert _kept(options, _pipelines_graph())
    for importer in ("dashboard.pages.visits", "dashboard.api", "dashboard.cli",
                     "dashboard.archive_export", "dashboard.components.filter_bar"):
        graph = _pipelines_graph()
        graph.add_import(importer=importer, imported="dashboard.reports.sql")
        assert not _kept(options, graph), f"{importer} -> dashboard.reports.sql went unnoticed"
    graph = _pipelines_graph()
    graph.add_import(importer="dashboard.reports.maps", imported="dashboard.reports.sql")
    assert _kept(options, graph)


# In no layer on purpose: every layer may use them and they import nothing of dashboard.
SHARED = {"dashboard.i18n", "dashboard.settings"}


def _layered_modules(options: dict[str, Any]) -> set[str]:
    return {m.strip() for layer in options["layers"] for m in layer.replace("|", ":").split(":")}


def test_every_dashboard_module_has_a_layer() -> None:
    """A new top-level module of dashboard must be placed in a layer (or be shared), else
    the layers contract would not see it."""
    graph = _pipelines_graph()
    tops = {".".join(m.split(".")[:2]) for m in graph.modules
            if m.startswith("dashboard.")}
    assert tops - _layered_modules(_contract("layers")) == SHARED


def test_imports_up_the_layers_break_the_contract() -> None:
    """Reports do not import output or the web, output does not import the web, the
    pipelines import nothing above; and the API and the pages stay apart."""
    layers = _contract("layers")
    assert _kept(layers, _pipelines_graph())
    for importer, imported in (("dashboard.reports.metrics", "dashboard.output"),
                               ("dashboard.reports.archive", "dashboard.components.filter_bar"),
                               ("dashboard.exports", "dashboard.pages.visits"),
                               ("dashboard.archive_export", "dashboard.cli"),
                               ("pipelines.plans", "dashboard.scope")):
        graph = _pipelines_graph()
        graph.add_import(importer=importer, imported=imported)
        assert not _kept(layers, graph), f"{importer} -> {imported} went unnoticed"
    apart = _contract("independence")
    assert _kept(apart, _pipelines_graph())
    graph = _pipelines_graph()
    graph.add_import(importer="dashboard.api", imported="dashboard.pages.plans")
    assert not _kept(apart, graph)


def test_the_store_is_typed_strictly() -> None:
    """mypy's strict flags stay on for the Store protocol, both engines, the write
    side's ordering, the permission door and the read model (`make lint` runs mypy)."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        overrides = tomllib.load(handle)["tool"]["mypy"]["overrides"]
    strict = [o for o in overrides if o.get("disallow_untyped_defs")]
    modules = {m for o in strict for m in o["module"]}
    assert {"pipelines.store", "pipelines.db", "pipelines.clickhouse.database",
            "pipelines.refresh", "pipelines.upgrade", "pipelines.migrations",
            "pipelines.policy", "dashboard.scope", "dashboard.reports",
            "dashboard.reports.*"} <= modules
    for flag in ("disallow_untyped_calls", "disallow_any_generics", "warn_return_any",
                 "disallow_incomplete_defs", "strict_equality"):
        assert all(o.get(flag) for o in strict), flag


def test_queries_are_parameterised_files() -> None:
    """Every named query is a file of its own under dashboard/reports/queries, one statement each."""
    for path in (ROOT / "dashboard" / "reports" / "queries").glob("*.sql"):
        lines = [line.split("--")[0] for line in path.read_text("utf-8").splitlines()]
        body = "\n".join(lines).strip().rstrip(";")
        assert ";" not in body, f"{path.name} holds more than one statement"
        assert "{" not in body, f"{path.name} looks like a format string"


def test_ruff_is_clean() -> None:
    """Lint stays part of the tests, so a red lint is a red CI."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "pipelines", "dashboard", "tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
