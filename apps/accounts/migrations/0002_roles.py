"""The three roles and what each may do. Later models extend these grants in their own migrations.

Supervisors run the admin and staff accounts; Agents work the console (approvals) and read customers and calls;
Managers read everything and the analytics pages.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def _crud(app_label: str, model: str, actions: str = "add change delete view") -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions.split()]


SUPERVISORS = [
    *_crud("customers", "customer"),
    *_crud("customers", "donotcallentry"),
    *_crud("calls", "call", "change view"),  # fields Twilio and the agent own stay read-only in the admin
    "calls.view_transcriptentry",
    "calls.view_traceevent",
    *_crud("promises", "promise", "add change view"),
    *_crud("promises", "payment", "add view"),
    *_crud("outreach", "followup", "add change view"),
    "approvals.view_approval",
    "approvals.decide_approval",
    "analysis.view_callanalysis",
    *_crud("dispatch", "technician"),
    "core.view_auditevent",
    *_crud("accounts", "apikey", "change view"),
    *_crud("auth", "user", "add change view"),  # staff accounts and their role; never superuser rights
    "accounts.use_console",
    "accounts.view_analytics",
]

AGENTS = [
    "customers.view_customer",
    "calls.view_call",
    "calls.view_transcriptentry",
    "analysis.view_callanalysis",
    "approvals.view_approval",
    "approvals.decide_approval",
    "accounts.use_console",
]

MANAGERS = [
    "customers.view_customer",
    "customers.view_donotcallentry",
    "calls.view_call",
    "calls.view_transcriptentry",
    "calls.view_traceevent",
    "promises.view_promise",
    "promises.view_payment",
    "outreach.view_followup",
    "approvals.view_approval",
    "analysis.view_callanalysis",
    "dispatch.view_technician",
    "core.view_auditevent",
    "accounts.view_analytics",
]

ROLES = {"Supervisors": SUPERVISORS, "Agents": AGENTS, "Managers": MANAGERS}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, labels in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for label in labels:
            app_label, codename = label.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("analysis", "0001_initial"),
        ("approvals", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("calls", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
        ("customers", "0001_initial"),
        ("dispatch", "0001_initial"),
        ("outreach", "0001_initial"),
        ("promises", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
