"""The workflows the agent runs, by name: each a package (apps/agent/workflows/<name>/) composed
from base.py's parts and shared.py's steps."""

from apps.agent.workflows.base import Action, Heard, Required, Step, Transition, Wording, Workflow
from apps.agent.workflows.collections import COLLECTIONS
from apps.agent.workflows.roadside import ROADSIDE

WORKFLOWS: dict[str, Workflow] = {workflow.name: workflow for workflow in (COLLECTIONS, ROADSIDE)}


def get_workflow(name: str) -> Workflow:
    try:
        return WORKFLOWS[name]
    except KeyError:
        raise KeyError(f"No workflow {name!r}; known: {', '.join(WORKFLOWS)}") from None


__all__ = [
    "WORKFLOWS",
    "Action",
    "Heard",
    "Required",
    "Step",
    "Transition",
    "Wording",
    "Workflow",
    "get_workflow",
]
