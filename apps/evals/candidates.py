"""`eval_agent --candidate WORKFLOW`: the suite on a workflow's candidate definition, and its verdict
kept for that exact version (apps/agent/rollouts.py lets a candidate have calls only after a pass).

A verdict is kept only for a whole run: every scenario of the workflow, from the suite's own folder,
held to every threshold. A filtered or safety-only run says how it went and keeps nothing.
"""

import getpass
from typing import Any

from apps.agent.rollouts import evaluation_record
from apps.agent.workflows import candidate_of

KEPT = ("total", "passed", "failed", "adherence", "forbidden_actions", "task_completion", "task_completion_interval",
        "latency_ms", "tokens", "cost_usd", "llm", "caller", "repeat", "runs", "by_category", "versions")  # fmt: skip


def unknown(names: list[str]) -> list[str]:
    """The named workflows this release ships no candidate of."""
    return [name for name in names if candidate_of(name) is None]


def keep_verdicts(report: dict[str, Any], names: list[str], problems: list[str], *, whole: bool) -> list[str]:
    """Store the run's verdict on each candidate in `names`; returns what to tell the person."""
    if not whole:
        return [
            "Not kept: a candidate's verdict is kept only for a whole run (no --filter, --scenarios or --safety-only)."
        ]
    said = []
    for name in names:
        version = candidate_of(name).version  # type: ignore[union-attr] (checked by `unknown` first)
        ran = report["versions"].get(name, [])
        why = list(problems)
        if ran != [version]:
            why.append(f"its calls ran versions {', '.join(ran) or 'none'}, not only the candidate {version}")
        evaluation_record(
            workflow=name,
            version=version,
            passed=not why,
            report={
                **{key: report[key] for key in KEPT if key in report},
                "problems": why,
                "failed_scenarios": [
                    {"id": s["id"], "failures": s["failures"]} for s in report["scenarios"] if not s["passed"]
                ],
            },
            run_by=f"{_user()} (eval_agent --llm {report['llm']})",
        )
        said.append(
            f"Kept: {name} {version} {'passed; a Rollout may now give it calls' if not why else 'failed: ' + '; '.join(why)}."
        )
    return said


def _user() -> str:
    """Who ran the command, as the system knows them (a container's user may have no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown user"
