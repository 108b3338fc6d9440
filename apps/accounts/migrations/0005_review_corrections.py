"""Supervisors and managers read the labelled examples that reviews of analyses leave (the
evaluation of the analyzers reads them too)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Supervisors": [("analysis", "view_reviewcorrection")],
    "Managers": [("analysis", "view_reviewcorrection")],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group, permissions in GRANTS.items():
        for app_label, codename in permissions:
            permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            Group.objects.get(name=group).permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group, permissions in GRANTS.items():
        for app_label, codename in permissions:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission:
                Group.objects.get(name=group).permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_analysis_rerun_and_texts"),
        ("analysis", "0003_reviewcorrection"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
