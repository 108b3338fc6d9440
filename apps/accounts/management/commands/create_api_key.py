from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for another system and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who uses the key, e.g. billing-system")

    def handle(self, *args, name: str, **options):
        name = name.strip()
        if not name:
            raise CommandError("The key needs a name.")
        exists = CommandError(f"An API key named {name!r} already exists.")
        if ApiKey.objects.filter(name=name).exists():
            raise exists
        try:
            _, raw = api_key_create(name=name, actor="cli:create_api_key")
        except IntegrityError:  # created concurrently
            raise exists from None
        self.stdout.write(raw)
