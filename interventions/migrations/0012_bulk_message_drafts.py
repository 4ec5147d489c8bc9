from django.db import migrations, models
from django.db.models import F


def sent_when_created(apps, schema_editor):
    # Bulk messages before drafts existed were sent the moment they were created.
    apps.get_model("interventions", "BulkMessage").objects.update(sent_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("interventions", "0011_message_replies"),
    ]

    operations = [
        migrations.AddField(
            model_name="bulkmessage",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(sent_when_created, migrations.RunPython.noop),
    ]
