from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0004_trace_kind_breaker"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="relay_failures",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="call",
            name="relay_failed_session",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
    ]
