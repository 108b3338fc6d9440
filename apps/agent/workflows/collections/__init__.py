"""The collections workflow: its definition (workflow.py), its typed facts (facts.py), the
listeners and conditions (listeners.py), what it does and says offline (acts.py, wording.py) and
its own rules (rules.py)."""

from apps.agent.workflows.collections.facts import CollectionsFacts
from apps.agent.workflows.collections.workflow import COLLECTIONS

__all__ = ["COLLECTIONS", "CollectionsFacts"]
