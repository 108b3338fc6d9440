from django.core.management.base import BaseCommand, CommandError

from apps.demo.seed import DemoSeedRefused, seed_demo


class Command(BaseCommand):
    help = "Create or complete the demo data set (idempotent). Demo users need DEBUG on."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-users", action="store_true", help="Seed the data without the supervisor/agent/manager logins."
        )

    def handle(self, *args, no_users: bool, **options):
        try:
            result = seed_demo(with_users=not no_users)
        except DemoSeedRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Demo data (created this run / total):")
        width = max(len(name) for name in result.counts)
        for name, (created, total) in result.counts.items():
            self.stdout.write(f"  {name:<{width}}  {created:>5} / {total}")
        if result.users:
            self.stdout.write(f"Demo logins: {' / '.join(result.users)}, password: {result.password}")
        if result.api_key_raw:
            self.stdout.write(f"Demo API key (shown once): {result.api_key_raw}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
