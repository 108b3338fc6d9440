from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.analytics.rollups import rollups_rebuild


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Rebuild the analytics' daily rollups from the raw rows (all days, or --from/--to, inclusive)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="first", type=_day, help="first business day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="last", type=_day, help="last business day (YYYY-MM-DD)")

    def handle(self, *args, first: date | None, last: date | None, **options) -> None:
        if first and last and first > last:
            raise CommandError("--from is after --to.")
        count = rollups_rebuild(first, last)
        self.stdout.write(f"Rebuilt {count} day{'s' if count != 1 else ''} of analytics.")
