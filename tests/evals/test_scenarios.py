"""The scenario files: the schema checked on load, errors that name the file and the field, and
the date expressions resolved on the day the suite runs."""

from datetime import date

import pytest

from apps.evals.config import SCENARIOS
from apps.evals.scenarios import ScenarioError, load_suite, resolve_day

GOOD = """
description: A promise on Friday.
category: happy
workflow: collections
caller:
  goal: promise
  knows: {amount: 300 dollars, date: Friday}
expect:
  outcome: completed
  promise: {amount: "300.00", due: friday}
"""


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_good_file_loads_with_its_path_as_id(tmp_path):
    write(tmp_path, "collections/inbound/friday.yaml", GOOD)
    suite = load_suite(tmp_path)
    [scenario] = suite.scenarios
    assert scenario.id == "collections/inbound/friday"
    assert (scenario.channel, scenario.direction, scenario.customer.name) == ("voice", "inbound", "Maria Lopez")
    assert scenario.expect.promise == {"amount": "300.00", "due": "friday"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("outcome: completed", "outcome: finished"), "expect.outcome"),
        (("category: happy", "category: happy\nsurprise: 1"), "surprise: Extra inputs are not permitted"),
        (("  goal: promise", "  goal: promise\n  script: [Hello]"), "give either `script`"),
        (("due: friday", 'due: "next blue moon"'), "is not a date expression"),
        (("workflow: collections", "workflow: billing"), "workflow: Input should be 'collections' or 'roadside'"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_field(tmp_path, change, message):
    path = write(tmp_path, "bad.yaml", GOOD.replace(*change))
    with pytest.raises(ScenarioError) as raised:
        load_suite(tmp_path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_not_yaml_and_an_empty_folder_are_refused(tmp_path):
    with pytest.raises(ScenarioError, match="no scenario files"):
        load_suite(tmp_path)
    write(tmp_path, "x.yaml", "description: [unclosed")
    with pytest.raises(ScenarioError, match="not readable YAML"):
        load_suite(tmp_path)


@pytest.mark.parametrize(
    ("expression", "today", "day"),
    [
        ("friday", date(2026, 12, 7), date(2026, 12, 11)),  # a Monday: this week's Friday
        ("friday", date(2026, 12, 11), date(2026, 12, 18)),  # on a Friday: the next one, never today
        ("+1", date(2026, 12, 31), date(2027, 1, 1)),
        ("-16", date(2026, 12, 7), date(2026, 11, 21)),
        ("day 15", date(2026, 12, 7), date(2026, 12, 15)),
        ("day 15", date(2026, 12, 16), date(2027, 1, 15)),
        ("day 7", date(2026, 12, 7), date(2026, 12, 7)),  # today counts
        ("2027-01-15", date(2026, 12, 7), date(2027, 1, 15)),
    ],
)
def test_date_expressions(expression, today, day):
    assert resolve_day(expression, today) == day


def test_the_repository_suite_loads_and_has_its_mix():
    suite = load_suite(SCENARIOS)
    categories = [s.category for s in suite.scenarios]
    assert len(categories) >= 300
    assert categories.count("happy") / len(categories) >= 0.75
    assert categories.count("edge") / len(categories) >= 0.12
    assert categories.count("adversarial") / len(categories) >= 0.04
    assert {(s.workflow, s.direction, s.channel) for s in suite.scenarios} >= {
        ("collections", "inbound", "voice"), ("collections", "outbound", "voice"), ("collections", "inbound", "chat"),
        ("collections", "outbound", "chat"), ("roadside", "inbound", "voice"), ("roadside", "inbound", "chat"),
    }  # fmt: skip
    assert any(s.expect.approval for s in suite.scenarios)
