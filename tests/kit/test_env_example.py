"""`.env.example` names every setting with its default and meaning, and is what the generator writes."""

from __future__ import annotations

import re

import pytest
from dotenv import dotenv_values

from kit import env_example
from kit.settings import Settings

SETTING_LINE = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=", re.MULTILINE)  # NAME=default, or `# NAME=` when unset


@pytest.fixture(autouse=True)
def clean_state():
    """These tests read files: no database or Redis to reset."""


def test_env_example_is_up_to_date_with_the_settings_class():
    assert env_example.PATH.read_text() == env_example.render(), (
        ".env.example is out of date: run `python -m kit.env_example` and commit it"
    )


def test_every_setting_has_a_one_line_description():
    for name, field in env_example.settings_fields().items():
        assert field.description and "\n" not in field.description, f"Settings.{name}: add a one-line description"


def test_env_example_lists_every_setting_and_nothing_else():
    listed = set(SETTING_LINE.findall(env_example.PATH.read_text()))
    assert listed == {name.upper() for name in env_example.settings_fields()}


def test_loading_env_example_gives_the_defaults():
    """Copied to `.env` unchanged, the file changes no setting."""
    values = {key: value for key, value in dotenv_values(env_example.PATH).items() if value is not None}
    assert Settings(_env_file=None, **{k.lower(): v for k, v in values.items()}) == Settings(_env_file=None)


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / ".env.example"
    stale.write_text("APP_ENV=development\n")
    monkeypatch.setattr(env_example, "PATH", stale)
    assert env_example.main(["--check"]) == 1
    assert env_example.main([]) == 0 and env_example.main(["--check"]) == 0
