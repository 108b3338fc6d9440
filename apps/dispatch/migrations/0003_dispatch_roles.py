"""Dispatches in the roles: supervisors close them in the admin, managers read them.

Agents dispatch through the voice agent's tool, not the admin; nobody adds or deletes a dispatch by hand.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Supervisors": ["dispatch.change_dispatch", "dispatch.view_dispatch"],
    "Managers": ["dispatch.view_dispatch"],
}


def _permissions(apps, labels: list[str]) -> list:
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=label.split(".")[0], codename=label.split(".")[1])
        for label in labels
    ]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); make the new model's now.
    app_config = apps.get_app_config("dispatch")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    for role, labels in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*_permissions(apps, labels))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role, labels in GRANTS.items():
        for group in Group.objects.filter(name=role):
            group.permissions.remove(*_permissions(apps, labels))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("dispatch", "0002_dispatch"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
