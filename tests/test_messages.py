"""Messages and help texts name only commands, options and settings that exist: every `kb CMD
--option` in kb/, ingest/, ui/ and app.py is checked against the CLI, every KB_* variable against
the settings."""

from __future__ import annotations

import ast
import re

import click

from kb.cli import cli
from kb.config import Settings
from tests.conftest import REPO

COMMAND = re.compile(r"`kb ([a-z][a-z-]*)([^`]*)")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
VARIABLE = re.compile(r"\bKB_[A-Z][A-Z_]*[A-Z]\b")
# Read by load_settings itself rather than being a settings field.
OTHER_VARIABLES = {"KB_CONFIG"}


def product_strings() -> list[tuple[str, int, str]]:
    """(file, line, text) of every string literal of the product code, f-string pieces included."""
    files = [*(REPO / "kb").rglob("*.py"), *(REPO / "ingest").rglob("*.py"), *(REPO / "ui").rglob("*.py"),
             REPO / "app.py"]
    return [(str(path.relative_to(REPO)), node.lineno, node.value) for path in sorted(files)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def options_of(command: click.Command) -> set[str]:
    return {option for param in command.params for option in param.opts + param.secondary_opts} | {"--help"}


def test_every_kb_command_and_option_named_in_a_message_exists():
    assert isinstance(cli, click.Group)
    wrong = []
    for where, line, text in product_strings():
        for name, rest in COMMAND.findall(text):
            command = cli.commands.get(name)
            if command is None:
                wrong.append(f"{where}:{line}: there is no `kb {name}`")
                continue
            wrong += [f"{where}:{line}: `kb {name}` has no {option}"
                      for option in OPTION.findall(rest) if option not in options_of(command)]
    assert wrong == []


def test_every_kb_variable_named_in_a_message_is_a_setting():
    known = {f"KB_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    wrong = [f"{where}:{line}: {variable}" for where, line, text in product_strings()
             for variable in VARIABLE.findall(text) if variable not in known]
    assert wrong == []


def test_the_scan_sees_commands_options_and_variables():
    strings = [text for _, _, text in product_strings()]
    assert any("`kb ingest --force --only " in text for text in strings)
    assert COMMAND.findall("run `kb ingest --force --only x` now") == [("ingest", " --force --only x")]
    assert any(VARIABLE.search(text) for text in strings)
