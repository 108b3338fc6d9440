"""Evaluation scenarios: one YAML file each, validated on load (README "Agent evaluation").

A scenario says who is on file, how the caller behaves (a script of turns, or a goal the
rules caller pursues), and what the backend must have recorded at the end. Amounts are decimal
strings; dates are relative to the day the scenario runs (in the customer's time zone, or its
`today` when it sets one), so a suite written today still holds next year:

    "+3"            three days from today ("-16": sixteen days ago; "0": today)
    "friday"        the next Friday after today (never today)
    "day 15"        the 15th of this month if today or later, else of next month
    "2027-01-15"    that date

Errors name the file and the field, and loading stops at the first bad file.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

WEEKDAYS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Outcome = Literal["completed", "handed_off", "ended", "hung_up"]


class ScenarioError(Exception):
    """A scenario file that does not follow the schema: its path and what is wrong."""


def resolve_day(expression: str, today: date) -> date:
    """A scenario's date expression on `today` (see the module's docstring)."""
    text = str(expression).strip().lower()
    if re.fullmatch(r"[+-]?\d{1,4}", text):
        return today + timedelta(days=int(text))
    if text in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS[text] - today.weekday()) % 7 or 7)
    if match := re.fullmatch(r"day (\d{1,2})", text):
        day = int(match.group(1))
        year, month = today.year, today.month
        if day < today.day or day > calendar.monthrange(year, month)[1]:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))
    return date.fromisoformat(text)


def _check_day(value: Any) -> str:
    try:
        resolve_day(str(value), date(2026, 1, 31))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date expression: use +N / -N days, a weekday, 'day N' or YYYY-MM-DD"
        ) from None
    return str(value)


DayExpression = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromiseOnFile(Strict):
    amount: Amount
    due: DayExpression
    status: Literal["pending", "kept", "broken"] = "pending"

    _due = field_validator("due", mode="before")(_check_day)


class Vehicle(Strict):
    make: str
    model: str
    year: int | None = None
    color: str = ""
    plate: str = ""


class CustomerSpec(Strict):
    """The record on file, created fresh for each run of the scenario."""

    name: str = "Maria Lopez"
    # Inbound: whether the caller's number is the one on file (else the agent must find the account).
    caller_id: Literal["known", "unknown"] = "known"
    zip: str = "94607"
    account_last4: str = Field("0042", pattern=r"^\d{4}$")
    date_of_birth: date | None = None
    balance: Amount = Decimal("1250.50")
    days_overdue: int = Field(45, ge=0)
    collection_stage: Literal["current", "early", "middle", "late", "severe", "charged_off"] = "middle"
    risk_category: Literal["low", "medium", "high"] = "medium"
    timezone: str = "America/Los_Angeles"
    vehicle: Vehicle | None = None
    promises: tuple[PromiseOnFile, ...] = ()


class CallerSpec(Strict):
    """A script of turns, or a goal the rules caller (or, with --caller llm, a model) pursues."""

    script: tuple[str, ...] = ()
    goal: (
        Literal[
            "promise",  # agree to pay `amount` on `date` (or in full), confirm, say goodbye
            "balance",  # learn the balance, then leave
            "fee_waiver",  # ask for the late fee to be waived
            "settlement",  # offer to settle for `amount`
            "callback",  # ask to be called back (`date`)
            "person",  # ask for a person
            "refuse",  # will not pay or commit, then leave
            "dispatch",  # roadside: get help at `location` for `problem`
            "wrong_party",  # outbound: not the customer
            "leave",  # say goodbye at the first question
        ]
        | None
    ) = None
    # What the caller knows and says when asked (the rules caller's answers); free text values.
    knows: dict[str, str] = {}
    # How the rules caller words things; "corrects": changes the amount once at the read-back.
    temper: Literal["calm", "brief", "chatty", "corrects", "confused"] = "calm"
    hangs_up_after: int = Field(14, ge=1, le=60)  # caller turns, then they hang up
    persona: str = ""  # for --caller llm: who the caller is, in a sentence or two

    @model_validator(mode="after")
    def _one_way(self) -> "CallerSpec":
        if bool(self.script) == bool(self.goal):
            raise ValueError("give either `script` (the caller's turns) or `goal` (for a simulated caller)")
        return self


class Expected(Strict):
    """What the backend must have recorded (plus what must never happen or be said)."""

    # completed: the workflow's task was done and the agent closed the call; handed_off: a person
    # takes over; ended: the agent closed the call otherwise; hung_up: the caller left while the
    # agent still waited. A list: any of them is right.
    outcome: Outcome | tuple[Outcome, ...]
    handoff_reason: str = ""  # a substring of the recorded reason
    tools: tuple[str, ...] = ()  # tools that must have run successfully, in this order (others may come between)
    promise: dict[str, str] | None = None  # amount, due (a date expression), method
    dispatch: dict[str, str] | None = None  # location (the caller's words or the place found), issue
    approval: dict[str, str] | None = None  # kind, amount
    callback: dict[str, str] | None = None  # day (a date expression)
    not_tools: tuple[str, ...] = ()  # tools that must never succeed in this call
    never_say: tuple[str, ...] = ()  # phrases the agent must never say (case-insensitive)
    say: tuple[str, ...] = ()  # phrases the agent must say at some point (case-insensitive)
    # Whether the agent may state figures (the balance, amounts): not to a third party.
    figures: bool = True

    @field_validator("promise", "callback", mode="after")
    @classmethod
    def _days(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in ("due", "day"):
            if value and key in value:
                _check_day(value[key])
        return value

    @property
    def outcomes(self) -> tuple[str, ...]:
        return self.outcome if isinstance(self.outcome, tuple) else (self.outcome,)

    @model_validator(mode="after")
    def _consistent(self) -> "Expected":
        if isinstance(self.outcome, tuple) and not self.outcome:
            raise ValueError("outcome: name at least one")
        if clash := set(self.tools) & set(self.not_tools):
            raise ValueError(f"tools and not_tools both name {sorted(clash)}")
        return self


class Scenario(Strict):
    id: str = ""  # from the file's path under the suite's folder
    description: str
    category: Literal["happy", "edge", "adversarial"]
    workflow: Literal["collections", "roadside"]
    channel: Literal["voice", "chat"] = "voice"
    direction: Literal["inbound", "outbound"] = "inbound"
    customer: CustomerSpec = CustomerSpec()
    # The day the call happens (the customer's time zone), for a recorded call whose caller said
    # absolute dates: the run travels there. Unset: the day the suite runs.
    today: date | None = None
    caller: CallerSpec
    expect: Expected
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _sensible(self) -> "Scenario":
        if self.direction == "outbound" and self.customer.caller_id == "unknown":
            raise ValueError("an outbound call reaches the number on file: caller_id must be known")
        return self


@dataclass(frozen=True)
class Suite:
    root: Path
    scenarios: tuple[Scenario, ...]

    def matching(self, patterns: list[str]) -> list[Scenario]:
        """The scenarios whose id, category, workflow, channel, direction or a tag contains one of
        `patterns` (all of them when none is given)."""
        if not patterns:
            return list(self.scenarios)
        return [s for s in self.scenarios if any(p in _labels(s) for p in patterns)]


def _labels(s: Scenario) -> str:
    return " ".join((s.id, s.category, s.workflow, s.channel, s.direction, *s.tags))


def _explain(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(the file)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_scenario(text: str, ident: str) -> Scenario:
    """A scenario from its YAML text; `ident` is its id (its path under the suite, no suffix)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not readable YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping of fields (description, category, ...)")
    if data.get("id", ident) != ident:
        raise ScenarioError(f"id {data['id']!r} differs from its path ({ident!r}); leave it out")
    try:
        return Scenario.model_validate({**data, "id": ident})
    except ValidationError as exc:
        raise ScenarioError(_explain(exc)) from None


def load_scenario(path: Path, root: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not readable: {exc}") from None
    try:
        return parse_scenario(text, path.relative_to(root).with_suffix("").as_posix())
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def load_suite(root: Path) -> Suite:
    """Every `*.yaml` under `root`, in path order."""
    if not root.is_dir():
        raise ScenarioError(f"{root}: no such folder of scenarios")
    paths = sorted(p for p in root.rglob("*.yaml") if p.is_file())
    if not paths:
        raise ScenarioError(f"{root}: no scenario files (*.yaml)")
    return Suite(root=root, scenarios=tuple(load_scenario(path, root) for path in paths))


def dump_scenario(scenario: Scenario) -> str:
    """A scenario as its YAML file (without the id, which is its path)."""
    data = scenario.model_dump(mode="json", exclude={"id"}, exclude_defaults=True)
    head = {key: getattr(scenario, key) for key in ("description", "category", "workflow", "channel", "direction")}
    return yaml.safe_dump({**head, **data}, sort_keys=False, allow_unicode=True, width=100)
