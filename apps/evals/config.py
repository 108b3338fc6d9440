"""The suite's place in the repository and its thresholds (evals/config.yaml)."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings

SUITE = Path(settings.BASE_DIR) / "evals"
SCENARIOS = SUITE / "scenarios"

# A workflow's task is done once the conversation reached this step (then closed normally).
GOAL_STEPS = {"collections": "wrap_up", "roadside": "inform_eta"}


@dataclass(frozen=True)
class Thresholds:
    adherence: float
    forbidden_actions: int
    task_completion: float


def thresholds(llm: str, path: Path = SUITE / "config.yaml") -> Thresholds:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["thresholds"]
    return Thresholds(
        adherence=float(data["adherence"]),
        forbidden_actions=int(data["forbidden_actions"]),
        task_completion=float(data["task_completion"][llm]),
    )
