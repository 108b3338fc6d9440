import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.agent import llm as agent_llm
from apps.evals.analysis_eval import cases_from_reviews, export_cases, load_cases, score


class Command(BaseCommand):
    help = (
        "Score the post-call analyzer on the review queue's labelled examples (the fields people confirmed or "
        "corrected): accuracy per field, and how well its confidence predicts being right (calibration)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--llm", choices=["offline", "configured"], default="offline",
                            help="The analyzer: offline, or the configured model")  # fmt: skip
        parser.add_argument("--export", type=Path, help="Write the labelled cases (redacted JSON) here and stop")
        parser.add_argument("--cases", type=Path, help="Score the cases in this folder instead of the reviews")
        parser.add_argument("--report", type=Path, help="Also write the scores to DIR/analysis_report.json")

    def handle(self, *args, llm, export, cases, report, **options):
        if llm == "configured" and not agent_llm.configured():
            raise CommandError("--llm configured needs OPENAI_API_KEY (and OPENAI_BASE_URL for other endpoints).")
        if cases is not None:
            if not cases.is_dir():
                raise CommandError(f"--cases: no folder {cases}.")
            try:
                found = load_cases(cases)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        else:
            found = cases_from_reviews()
        if not found:
            raise CommandError("No labelled cases: review some analyses in the console's review queue first.")
        if export is not None:
            written = export_cases(found, export)
            self.stdout.write(f"Wrote {len(written)} labelled cases to {export}.")
            return
        result = score(found, llm=llm == "configured")
        if report is not None:
            report.mkdir(parents=True, exist_ok=True)
            (report / "analysis_report.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        w = self.stdout.write
        w(f"Cases: {result['cases']}   fields scored: {len(result['fields_scored'])}   accuracy: {result['accuracy']}%")
        for field, figures in result["by_field"].items():
            w(f"  {field:<18} {figures['accuracy']:>6}%  of {figures['n']}")
        calibration = result["calibration"]
        w(f"Calibration: Brier {calibration['brier']}, expected calibration error {calibration['ece']} points")
        for row in calibration["bins"]:
            w(f"  confidence {row['confidence']:>6}: {row['n']:>4} fields, right {row['accuracy']}%")
