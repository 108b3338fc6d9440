"""The evaluation commands the README shows exist and take the options it shows."""

from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from tests.test_readme_commands import manage_commands

ROOT = Path(__file__).resolve().parents[2]
EVAL_COMMANDS = ("eval_agent", "export_scenario", "eval_analysis")
SHOWN = [args for args in manage_commands((ROOT / "README.md").read_text(encoding="utf-8")) if args[0] in EVAL_COMMANDS]


def test_the_readme_shows_each_evaluation_command():
    assert {args[0] for args in SHOWN} == {"eval_agent"}  # the others are shown inline
    assert len(SHOWN) >= 2


@pytest.mark.parametrize("args", SHOWN, ids=lambda args: " ".join(args))
def test_a_readme_example_parses(args):
    command = load_command_class(get_commands()[args[0]], args[0])
    parser = command.create_parser("manage.py", args[0])
    parser.parse_args(args[1:])  # an unknown option or a bad value raises
