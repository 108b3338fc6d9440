"""The workflows the agent runs, by name: each a package (apps/agent/workflows/<name>/) composed
from base.py's parts and shared.py's steps.

A change to a workflow (its steps, rules, wording: what the prompt is made of) can ship as a
**candidate** beside the current definition: a Workflow of the same name, its own version hash,
named in the AGENT_CANDIDATES setting ("module:ATTRIBUTE", at most one per workflow). Which calls
run it is decided per call by apps/agent/rollouts.py; a call keeps the version it started on.
"""

from functools import cache
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.agent.workflows.base import Action, Heard, Required, Step, Transition, Wording, Workflow
from apps.agent.workflows.collections import COLLECTIONS
from apps.agent.workflows.roadside import ROADSIDE

WORKFLOWS: dict[str, Workflow] = {workflow.name: workflow for workflow in (COLLECTIONS, ROADSIDE)}


def get_workflow(name: str, version: str | None = None) -> Workflow:
    """The current definition of `name`; with `version`, the definition of that version when it is
    the current one or the candidate. A version no longer shipped (a rolled-back candidate, one a
    deploy replaced) gets the current definition: a call resumed after it goes on under today's
    rules."""
    try:
        current = WORKFLOWS[name]
    except KeyError:
        raise KeyError(f"No workflow {name!r}; known: {', '.join(WORKFLOWS)}") from None
    if version and version != current.version and (candidate := candidate_of(name)) and candidate.version == version:
        return candidate
    return current


def candidate_of(name: str) -> Workflow | None:
    """The candidate definition of workflow `name` this release ships, if any."""
    return _candidates(tuple(settings.AGENT_CANDIDATES)).get(name)


@cache
def _candidates(paths: tuple[str, ...]) -> dict[str, Workflow]:
    found: dict[str, Workflow] = {}
    for path in paths:
        module_name, _, attribute = path.partition(":")
        try:
            candidate = getattr(import_module(module_name), attribute or "CANDIDATE")
        except (ImportError, AttributeError) as exc:
            raise ImproperlyConfigured(f"AGENT_CANDIDATES: cannot load {path!r}: {exc}") from exc
        if not isinstance(candidate, Workflow):
            raise ImproperlyConfigured(f"AGENT_CANDIDATES: {path!r} is not a Workflow")
        if candidate.name not in WORKFLOWS:
            raise ImproperlyConfigured(
                f"AGENT_CANDIDATES: {path!r} is a candidate for no workflow ({candidate.name!r})"
            )
        if candidate.version == WORKFLOWS[candidate.name].version:
            raise ImproperlyConfigured(f"AGENT_CANDIDATES: {path!r} is the current {candidate.name} definition")
        if candidate.name in found:
            raise ImproperlyConfigured(f"AGENT_CANDIDATES: two candidates for {candidate.name}")
        found[candidate.name] = candidate
    return found


__all__ = [
    "WORKFLOWS",
    "Action",
    "Heard",
    "Required",
    "Step",
    "Transition",
    "Wording",
    "Workflow",
    "candidate_of",
    "get_workflow",
]
