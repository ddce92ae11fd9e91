"""Documentation that travels with the code: docs/api.md lists exactly the routes of /openapi.json,
no document links outside the repository, and the wheel ships the service without bench/ or tests/."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "api.md"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# One heading per route in docs/api.md, nothing else on the line: ### `POST /api/v1/auth/send-otp`
ROUTE_HEADING = re.compile(r"^### `([A-Z]+) (/\S*)`$", re.MULTILINE)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(autouse=True)
def clean_state():
    """These tests read files and build the OpenAPI document: no database or Redis to reset."""


def openapi_routes() -> set[tuple[str, str]]:
    from deployments.app import create_app
    from kit.settings import Settings

    schema = create_app(Settings(app_env="test")).openapi()
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops if method in HTTP_METHODS}


def documented_routes() -> set[tuple[str, str]]:
    return set(ROUTE_HEADING.findall(API_DOC.read_text()))


def test_every_openapi_route_has_a_heading_in_docs_api_md():
    missing = sorted(openapi_routes() - documented_routes())
    assert not missing, "routes in /openapi.json without a '### `METHOD /path`' heading in docs/api.md: " + ", ".join(
        f"{m} {p}" for m, p in missing
    )


def test_docs_api_md_documents_no_route_that_openapi_lacks():
    stale = sorted(documented_routes() - openapi_routes())
    assert not stale, "docs/api.md documents routes that are not in /openapi.json: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


def test_docs_api_md_documents_each_route_once():
    headings = ROUTE_HEADING.findall(API_DOC.read_text())
    repeated = sorted({h for h in headings if headings.count(h) > 1})
    assert not repeated, f"routes documented more than once in docs/api.md: {repeated}"


def _documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "bench" / "RESULTS.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_document_links_stay_inside_the_repository(doc: Path):
    broken = []
    for target in MARKDOWN_LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor in the same page
        resolved = (doc.parent / target.split("#")[0]).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(ROOT)} links to paths outside the repository or missing: {broken}"


@pytest.mark.parametrize("doc", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_document_names_no_path_of_one_machine(doc: Path):
    text = doc.read_text()
    assert "/work/" not in text and "../shared/" not in text


def test_wheel_ships_neither_bench_nor_tests():
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "[tool.setuptools] support is beta"
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    shipped = {name.split(".")[0] for name in [*(dist.packages or []), *(dist.py_modules or [])]}
    assert {"deployments", "kit", "actors", "models"} <= shipped
    assert not shipped & {"bench", "tests"}, f"the wheel would ship {sorted(shipped & {'bench', 'tests'})}"


def test_make_bench_runs_from_the_checkout():
    """`make bench` is `python -m bench` in the repository root: it needs no installed bench package."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "scenarios: gateway, routes, feed, photos, chat, push" in done.stdout
