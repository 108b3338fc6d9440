"""The roadside workflow: its definition (workflow.py), its typed facts (facts.py), the listeners
and conditions (listeners.py), what it does and says offline (acts.py, wording.py) and its own
rules (rules.py)."""

from apps.agent.workflows.roadside.facts import RoadsideFacts
from apps.agent.workflows.roadside.workflow import ROADSIDE

__all__ = ["ROADSIDE", "RoadsideFacts"]
