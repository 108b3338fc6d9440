"""Supervisors may place outbound calls (the API's POST /calls/outbound, and the console)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    place = Permission.objects.get(content_type__app_label="calls", codename="place_call")
    Group.objects.get(name="Supervisors").permissions.add(place)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    place = Permission.objects.filter(content_type__app_label="calls", codename="place_call").first()
    if place:
        Group.objects.get(name="Supervisors").permissions.remove(place)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles"), ("calls", "0002_outbound_dialing")]
    operations = [migrations.RunPython(grant, revoke)]
