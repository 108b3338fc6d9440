import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_call_relay_failures"),
        ("telephony", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="RelaySession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("issued_at", models.DateTimeField(editable=False)),
                ("expires_at", models.DateTimeField(editable=False)),
                ("connected_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("superseded_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("ended_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("twilio_session_id", models.CharField(blank=True, editable=False, max_length=64)),
                (
                    "call",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="relay_sessions",
                        to="calls.call",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
    ]
