from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.calls.models import Call
from apps.evals.export import NotExportable, export_yaml


class Command(BaseCommand):
    help = (
        "Write a recorded call as a regression scenario (YAML, redacted): its caller's turns as the script, "
        "what it recorded as the expected outcome. Edit the expectation, then save it under evals/scenarios/."
    )

    def add_arguments(self, parser):
        parser.add_argument("call_id", type=int)
        parser.add_argument("--out", type=Path, help="Write to this file (it must not exist) instead of printing")

    def handle(self, *args, call_id, out, **options):
        call = Call.objects.select_related("customer").filter(pk=call_id).first()
        if call is None:
            raise CommandError(f"No call {call_id}.")
        try:
            text = export_yaml(call)
        except NotExportable as exc:
            raise CommandError(str(exc)) from None
        if out is None:
            self.stdout.write(text, ending="")
            return
        if out.exists():
            raise CommandError(f"{out} already exists; choose another name.")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {out}: check the expectation under `expect:` before committing it.")
