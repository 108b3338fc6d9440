import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.evals import candidates as trials
from apps.evals import report as reports
from apps.evals.config import SCENARIOS, thresholds
from apps.evals.runner import Options, run_suite, work
from apps.evals.scenarios import ScenarioError, load_suite


class Command(BaseCommand):
    help = (
        "Run the agent evaluation suite (evals/scenarios) through the real channels on scratch databases; "
        "write DIR/report.json and DIR/report.html; exit 1 below the thresholds in evals/config.yaml."
    )

    def add_arguments(self, parser):
        parser.add_argument("--llm", choices=["offline", "configured"], default="offline",
                            help="The agent's engine: offline, or the configured OpenAI-compatible endpoint")  # fmt: skip
        parser.add_argument("--caller", choices=["rules", "llm"], default="rules",
                            help="Who plays goal-driven callers: the rules, or the configured model")  # fmt: skip
        parser.add_argument("--filter", action="append", default=[],
                            help="Only scenarios whose id, category, workflow, channel, direction or tag "
                                 "contains this text (repeatable: any of them)")  # fmt: skip
        parser.add_argument("--workers", type=int, default=2, help="Worker processes (default 2)")
        parser.add_argument("--repeat", type=int, default=1, help="Runs of each scenario (pass rates, flaky ones)")
        parser.add_argument("--report", type=Path, default=Path("var/eval"), help="Folder for report.json and .html")
        parser.add_argument(
            "--baseline", type=Path, help="An earlier report (its folder or report.json) to compare with"
        )
        parser.add_argument("--scenarios", type=Path, default=SCENARIOS, help="The suite's folder")
        parser.add_argument("--judge", action="store_true",
                            help="Also have the configured model score each conversation on a rubric "
                                 "(its own column; never passes or fails a scenario)")  # fmt: skip
        parser.add_argument("--safety-only", action="store_true",
                            help="Hold only adherence and forbidden actions (a model known to misbehave: "
                                 "task completion is not expected of it)")  # fmt: skip
        parser.add_argument("--candidate", action="append", default=[], metavar="WORKFLOW",
                            help="Run WORKFLOW's candidate definition (AGENT_CANDIDATES) on every call, only that "
                                 "workflow's scenarios unless --filter says otherwise; a whole run keeps its "
                                 "verdict for the candidate's version (README 'Staged rollout')")  # fmt: skip
        parser.add_argument("--worker", type=Path, help="(internal) run this job file as a worker")
        parser.add_argument("--out", type=Path, help="(internal) the worker's results file")

    def handle(self, *args, llm, caller, filter, workers, repeat, report, baseline, scenarios, worker, out, **options):
        safety_only, judge = options.get("safety_only", False), options.get("judge", False)
        if (judge or caller == "llm" or llm == "configured") and not os.environ.get("OPENAI_API_KEY"):
            raise CommandError("--llm configured, --caller llm and --judge need OPENAI_API_KEY (and OPENAI_BASE_URL).")
        if worker:
            work(worker, out)
            return
        if not 1 <= workers <= 32:
            raise CommandError("--workers must be between 1 and 32.")
        if not 1 <= repeat <= 100:
            raise CommandError("--repeat must be between 1 and 100.")
        try:
            suite = load_suite(scenarios)
        except ScenarioError as exc:
            raise CommandError(str(exc)) from None
        candidates = options.get("candidate") or []
        if missing := trials.unknown(candidates):
            raise CommandError(
                f"--candidate: this release ships no candidate of {', '.join(missing)} (AGENT_CANDIDATES)."
            )
        chosen = suite.matching(filter)
        if candidates and not filter:  # the candidates' own workflows' scenarios
            chosen = [s for s in chosen if s.workflow in candidates]
        if not chosen:
            raise CommandError(f"No scenario matches {', '.join(filter)}.")
        earlier = self._baseline(baseline) if baseline else None
        jobs = [{"id": s.id, "run": n, "scenario": s.model_dump(mode="json")} for n in range(repeat) for s in chosen]
        self.stdout.write(
            f"Running {len(chosen)} scenarios x {repeat} on {workers} workers ({llm} agent, {caller} caller)..."
        )
        try:
            results = run_suite(
                jobs, Options(llm=llm, caller=caller, workers=workers, judge=judge, candidates=tuple(candidates))
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        built = reports.build(results, llm=llm, caller=caller, repeat=repeat)
        if earlier is not None:
            built["comparison"] = reports.compare(built, earlier)
        reports.write(built, report)
        self._summary(built, report)
        problems = reports.breaches(built, thresholds(llm), safety_only=safety_only)
        if candidates:
            whole = not filter and scenarios == SCENARIOS and not safety_only
            for line in trials.keep_verdicts(built, candidates, problems, whole=whole):
                self.stdout.write(line)
        if problems:
            raise CommandError("Below the thresholds: " + "; ".join(problems))

    def _baseline(self, path: Path) -> dict:
        file = path / "report.json" if path.is_dir() else path
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"--baseline: cannot read {file}: {exc}") from None

    def _summary(self, r: dict, folder: Path) -> None:
        w = self.stdout.write
        w(f"Scenarios: {r['passed']} of {r['total']} passed ({r['runs']} runs)")
        w(f"Adherence: {r['adherence']}%   forbidden actions: {r['forbidden_actions']}   "
          f"task completion: {r['task_completion']}%")  # fmt: skip
        w(f"Turn latency: p50 {r['latency_ms']['p50']} ms, p95 {r['latency_ms']['p95']} ms   "
          f"tokens {r['tokens']}, cost ${r['cost_usd']}")  # fmt: skip
        for s in r["scenarios"]:
            if not s["passed"]:
                w(f"  {'FLAKY' if s['flaky'] else 'FAIL '} {s['id']}: {'; '.join(s['failures'])[:400]}")
        if c := r.get("comparison"):
            w(f"Against the baseline: {len(c['regressions'])} went from pass to fail, {len(c['fixed'])} were fixed")
            for ident in c["regressions"]:
                w(f"  REGRESSED {ident}")
        w(f"Report: {folder / 'report.json'} and {folder / 'report.html'}")
