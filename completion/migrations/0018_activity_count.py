# Events carry a count (a day of clicks in one row); the per-learner index covers it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('completion', '0017_item_weight_pass_mark_section'),
        ('lti_tool', '0006_registration_links'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='activity',
            name='activity_facts',
        ),
        migrations.AddField(
            model_name='activity',
            name='count',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='pendingactivity',
            name='count',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['course', 'person', 'occurred_at'], include=('item', 'verb', 'duration_seconds', 'score', 'success', 'count'), name='activity_facts'),
        ),
    ]
