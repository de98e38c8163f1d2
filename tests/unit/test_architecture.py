"""Architecture contracts (DESIGN.md section 6) checked on every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pipelines_never_import_the_ui() -> None:
    """The import-linter contract in pyproject.toml holds (pipelines -/-> dashboard, dash)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_contract_is_not_vacuous() -> None:
    """The contract names the UI packages, so a new `import dash` in pipelines would break it."""
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    assert 'source_modules = ["pipelines"]' in text
    for module in ('"dashboard"', '"dash"', '"plotly"', '"flask"'):
        assert module in text.split("[[tool.importlinter.contracts]]")[1]


def test_queries_are_parameterised_files() -> None:
    """Every named query is a file of its own under dashboard/queries, one statement each."""
    for path in (ROOT / "dashboard" / "queries").glob("*.sql"):
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
