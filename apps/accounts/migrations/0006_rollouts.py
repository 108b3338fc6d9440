"""Supervisors steer the staged rollout of workflow changes (a candidate's share, promote, roll
back) and read the evaluations behind it; managers read both."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Supervisors": [
        ("agent", "view_rollout"),
        ("agent", "add_rollout"),
        ("agent", "change_rollout"),
        ("agent", "view_versionevaluation"),
    ],
    "Managers": [("agent", "view_rollout"), ("agent", "view_versionevaluation")],
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
        ("accounts", "0005_review_corrections"),
        ("agent", "0001_initial"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
