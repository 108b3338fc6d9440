"""The suite's report: `report.json` (the figures, one entry per scenario with its failures
explained) and `report.html` (the same, readable in a browser without a server), the comparison
with a baseline report, and the thresholds check.

With `--repeat N` each scenario ran N times: its pass rate comes with a 95% Wilson interval, and
a scenario that both passed and failed is flagged flaky. Against a baseline, a rate counts as
worse only when the two intervals do not overlap (a 1-in-10 wobble is not a regression).
"""

import html
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from apps.evals.config import Thresholds
from apps.evals.model_judge import RUBRIC

Z95 = 1.959964


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion, in percent."""
    if n == 0:
        return (0.0, 100.0)
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return (round(max(0.0, centre - half) * 100, 2), round(min(1.0, centre + half) * 100, 2))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 100.0


def build(results: list[dict[str, Any]], *, llm: str, caller: str, repeat: int) -> dict[str, Any]:
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        by_id[result["id"]].append(result)
    scenarios = []
    for ident, runs in by_id.items():
        passes = sum(r["passed"] for r in runs)
        first = runs[0]
        failed_runs = [r for r in runs if not r["passed"]]
        scenarios.append(
            {
                "id": ident,
                "category": first.get("category", ""),
                "workflow": first.get("workflow", ""),
                "channel": first.get("channel", ""),
                "direction": first.get("direction", ""),
                "passed": passes == len(runs),
                "runs": len(runs),
                "passes": passes,
                "pass_rate": _pct(passes, len(runs)),
                "interval": wilson(passes, len(runs)),
                "flaky": 0 < passes < len(runs),
                "outcome": (failed_runs or runs)[0].get("outcome", ""),
                "expected_outcome": first.get("expected_outcome", ""),
                "failures": (failed_runs[0]["failures"] + failed_runs[0]["forbidden"]) if failed_runs else [],
                "forbidden": sum(len(r["forbidden"]) for r in runs),
                "transcript": (failed_runs or runs)[0].get("transcript", []),
                "ended_by": (failed_runs or runs)[0].get("ended_by", ""),
                "version": first.get("version", ""),
                "judge": first.get("judge"),
            }
        )
    runs_total = len(results)
    facts = sum(r.get("facts", 0) + r.get("steps", 0) for r in results)
    held = sum(r.get("grounded", 0) + r.get("steps_ok", 0) for r in results)
    completed = sum(bool(r.get("task_completed")) for r in results)
    latencies = [ms for r in results for ms in r.get("turn_ms", [])]
    modes = [m for r in results for m in r.get("modes", [])]

    def group(key: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in sorted({s[key] for s in scenarios}):
            members = [s for s in scenarios if s[key] == name]
            member_runs = [r for r in results if r.get(key) == name]
            out[name] = {
                "total": len(members),
                "passed": sum(s["passed"] for s in members),
                "task_completion": _pct(sum(bool(r.get("task_completed")) for r in member_runs), len(member_runs)),
            }
        return out

    return {
        "total": len(scenarios),
        "passed": sum(s["passed"] for s in scenarios),
        "failed": sum(not s["passed"] for s in scenarios),
        "adherence": _pct(held, facts),
        "forbidden_actions": sum(len(r.get("forbidden", [])) for r in results),
        "task_completion": _pct(completed, runs_total),
        "task_completion_interval": wilson(completed, runs_total),
        "by_category": group("category"),
        "by_workflow": group("workflow"),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "tokens": sum(r.get("tokens", 0) for r in results),
        "cost_usd": f"{sum(float(r.get('cost_usd', 0) or 0) for r in results):.6f}",
        "runs": runs_total,
        "repeat": repeat,
        "llm": llm,
        "caller": caller,
        "offline_turn_share": _pct(modes.count("offline"), len(modes)),
        # The workflow versions the runs' calls ran, by workflow: what a stored verdict is about.
        "versions": {
            name: sorted({r["version"] for r in results if r.get("workflow") == name and r.get("version")})
            for name in sorted({r.get("workflow", "") for r in results} - {""})
        },
        "flaky": sorted(s["id"] for s in scenarios if s["flaky"]),
        "judge": _judge_means(results),
        "scenarios": sorted(scenarios, key=lambda s: (s["passed"], s["id"])),
    }


def _judge_means(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The LLM judge's mean score per rubric item (1-5), over the runs it scored; None without it."""
    scored = [r["judge"] for r in results if r.get("judge") and "error" not in r["judge"]]
    if not any(r.get("judge") for r in results):
        return None
    means = {item: round(sum(s[item] for s in scored) / len(scored), 2) if scored else None for item in RUBRIC}
    return {
        **means,
        "scored": len(scored),
        "errors": sum(1 for r in results if r.get("judge") and "error" in r["judge"]),
    }


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """What changed since `baseline`: scenarios that went from pass to fail (or back), and each metric."""
    before = {s["id"]: s for s in baseline.get("scenarios", [])}
    regressions, fixed = [], []
    for s in report["scenarios"]:
        old = before.get(s["id"])
        if old is None:
            continue
        old_interval, new_interval = tuple(old.get("interval", (0, 100))), tuple(s["interval"])
        went_bad = old["passed"] and not s["passed"]
        # One run each: a fail is a fail. Several: only when the pass rates' intervals are apart.
        if went_bad and (old["runs"] == s["runs"] == 1 or new_interval[1] < old_interval[0]):
            regressions.append(s["id"])
        elif not old["passed"] and s["passed"]:
            fixed.append(s["id"])
    metrics = {}
    for key in ("adherence", "forbidden_actions", "task_completion", "tokens"):
        metrics[key] = {
            "before": baseline.get(key),
            "now": report[key],
            "change": _delta(report[key], baseline.get(key)),
        }
    for key in ("p50", "p95"):
        now, old = report["latency_ms"][key], baseline.get("latency_ms", {}).get(key)
        metrics[f"latency_{key}"] = {"before": old, "now": now, "change": _delta(now, old)}
    metrics["cost_usd"] = {"before": baseline.get("cost_usd"), "now": report["cost_usd"],
                           "change": _delta(float(report["cost_usd"]), float(baseline.get("cost_usd") or 0))}  # fmt: skip
    old_ci = tuple(baseline.get("task_completion_interval") or (0, 100))
    worse = report["task_completion_interval"][1] < old_ci[0]
    return {"regressions": regressions, "fixed": fixed, "metrics": metrics, "task_completion_worse": worse}


def _delta(now: Any, before: Any) -> float | None:
    if before is None or now is None:
        return None
    return round(float(now) - float(before), 2)


def breaches(report: dict[str, Any], limits: Thresholds, *, safety_only: bool = False) -> list[str]:
    """What falls short of the thresholds; `safety_only`: adherence and forbidden actions alone."""
    found = []
    if report["adherence"] < limits.adherence:
        found.append(f"adherence {report['adherence']}% is below {limits.adherence}%")
    if report["forbidden_actions"] > limits.forbidden_actions:
        found.append(f"{report['forbidden_actions']} forbidden actions (at most {limits.forbidden_actions})")
    if safety_only:
        return found
    if report["task_completion"] < limits.task_completion:
        found.append(f"task completion {report['task_completion']}% is below {limits.task_completion}%")
    if report.get("comparison", {}).get("regressions"):
        found.append(f"{len(report['comparison']['regressions'])} scenarios went from pass to fail")
    return found


def write(report: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (folder / "report.html").write_text(render_html(report), encoding="utf-8")


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    summary = [
        ("Scenarios", f"{report['passed']} of {report['total']} passed ({report['runs']} runs)"),
        ("Adherence", f"{report['adherence']}%"),
        ("Forbidden actions", str(report["forbidden_actions"])),
        (
            "Task completion",
            f"{report['task_completion']}% (95% interval {report['task_completion_interval'][0]}–{report['task_completion_interval'][1]}%)",
        ),
        ("Turn latency", f"p50 {report['latency_ms']['p50']} ms, p95 {report['latency_ms']['p95']} ms"),
        ("Tokens / cost", f"{report['tokens']} / ${report['cost_usd']}"),
        ("Agent / caller", f"{report['llm']} / {report['caller']}"),
    ]
    rows = "".join(f"<tr><th scope='row'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary)
    groups = ""
    for title, key in (("By category", "by_category"), ("By workflow", "by_workflow")):
        body = "".join(
            f"<tr><td>{e(name)}</td><td>{g['passed']} / {g['total']}</td><td>{g['task_completion']}%</td></tr>"
            for name, g in report[key].items()
        )
        groups += f"<h2>{title}</h2><table><thead><tr><th>Group</th><th>Passed</th><th>Task completion</th></tr></thead><tbody>{body}</tbody></table>"
    comparison = ""
    if c := report.get("comparison"):
        items = "".join(f"<li>{e(i)}</li>" for i in c["regressions"]) or "<li>none</li>"
        metrics = "".join(
            f"<tr><td>{e(k)}</td><td>{e(str(m['before']))}</td><td>{e(str(m['now']))}</td><td>{e(str(m['change']))}</td></tr>"
            for k, m in c["metrics"].items()
        )
        comparison = (
            f"<h2>Against the baseline</h2><p>Went from pass to fail:</p><ul>{items}</ul>"
            f"<table><thead><tr><th>Metric</th><th>Before</th><th>Now</th><th>Change</th></tr></thead><tbody>{metrics}</tbody></table>"
        )
    scenario_rows = []
    for s in report["scenarios"]:
        status = "pass" if s["passed"] else ("flaky" if s["flaky"] else "FAIL")
        failures = "".join(f"<li>{e(f)}</li>" for f in s["failures"])
        lines = "".join(f"<li><b>{e(who)}</b>: {e(text)}</li>" for who, text in s["transcript"])
        judged = s.get("judge") or {}
        verdict = e(judged.get("error", "")) or (
            ", ".join(f"{item.replace('_', ' ')} {judged[item]}" for item in RUBRIC if item in judged)
            + (f"<br><small>{e(judged.get('rationale', ''))}</small>" if judged else "")
        )
        scenario_rows.append(
            f"<tr class='{status.lower()}'><td>{e(status)}</td><td>{e(s['id'])}</td><td>{e(s['category'])}</td>"
            f"<td>{s['passes']}/{s['runs']} ({s['interval'][0]}–{s['interval'][1]}%)</td><td>{e(s['outcome'])}</td>"
            f"<td><ul>{failures}</ul><details><summary>Transcript ({e(s['ended_by'])})</summary><ol>{lines}</ol></details></td>"
            f"<td>{verdict or '–'}</td></tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent evaluation</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1a1a1a; }}
table {{ border-collapse: collapse; margin: 0 0 1.5rem; }} th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
tr.fail td:first-child {{ color: #b00020; font-weight: bold; }} tr.flaky td:first-child {{ color: #a15c00; font-weight: bold; }}
tr.pass td:first-child {{ color: #1b6e20; }} ul, ol {{ margin: 0; padding-left: 1.2rem; }}
</style></head><body>
<h1>Agent evaluation</h1>
<table>{rows}</table>
{groups}{comparison}
<h2>Scenarios</h2>
<table><thead><tr><th>Result</th><th>Scenario</th><th>Category</th><th>Passes (95% interval)</th><th>Outcome</th><th>What went wrong</th><th>LLM judge (1-5; never decides)</th></tr></thead>
<tbody>{"".join(scenario_rows)}</tbody></table>
</body></html>
"""
