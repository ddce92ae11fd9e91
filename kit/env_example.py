"""`.env.example` from the Settings class: every setting, its default and its one-line meaning.

`python -m kit.env_example` rewrites the file; `--check` exits 1 when it is out of date
(tests/kit/test_env_example.py does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic.fields import FieldInfo

from kit.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / ".env.example"

HEADER = """\
# Every setting the app reads from the environment (or from a `.env` file in the working
# directory), with its default. Generated from kit/settings.py by `python -m kit.env_example`:
# change the Settings class, not this file. Copy it to `.env` and edit what you need; the
# values below are the defaults, so an untouched line changes nothing. Lines starting with
# `# NAME=` are unset by default.
"""


def settings_fields() -> dict[str, FieldInfo]:
    """The settings an operator can set (a removed one that is only refused is left out)."""
    return {name: field for name, field in Settings.model_fields.items() if not field.exclude}


def _value(default: object) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def render() -> str:
    lines = [HEADER]
    for name, field in settings_fields().items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no description: add Field(description=...)")
        lines.append(f"# {field.description}")
        key = name.upper()
        lines.append(f"# {key}=" if field.default is None else f"{key}={_value(field.default)}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if .env.example is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PATH.read_text() if PATH.exists() else ""
        if current != text:
            print(".env.example is out of date: run `python -m kit.env_example`", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
