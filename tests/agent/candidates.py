"""Candidate workflow definitions for the staged-rollout tests, named in AGENT_CANDIDATES as a
release names its own (`tests.agent.candidates:REWORDED`): one with a rule added to the prompt,
which behaves as the current one does; one with a transition removed, which the suite must catch."""

from dataclasses import replace

from apps.agent.workflows import Workflow, get_workflow


def without_transition(workflow: Workflow, step: str, to: str) -> Workflow:
    """`workflow` with step `step`'s transition to `to` removed."""
    steps = tuple(
        replace(s, transitions=tuple(t for t in s.transitions if t.to != to)) if s.name == step else s
        for s in workflow.steps
    )
    assert steps != workflow.steps, f"{workflow.name}.{step} has no transition to {to}"
    return replace(workflow, steps=steps)


COLLECTIONS = get_workflow("collections")
# A prompt change: one more rule for the model (the offline agent's words are the same).
REWORDED = replace(COLLECTIONS, rules=(*COLLECTIONS.rules, "Thank the customer for their time before the goodbye."))
# Agreed terms no longer lead to the read-back: no promise is ever recorded.
BROKEN = without_transition(COLLECTIONS, "negotiate", to="confirm_promise")
