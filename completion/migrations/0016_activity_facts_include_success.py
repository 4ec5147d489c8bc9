# Risk scoring reads `success` with the other columns of an index-only scan (graded submissions).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('completion', '0015_xapi_documents_and_activities'),
        ('lti_tool', '0006_registration_links'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='activity',
            name='activity_facts',
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['course', 'person', 'occurred_at'], include=('item', 'verb', 'duration_seconds', 'score', 'success'), name='activity_facts'),
        ),
    ]
