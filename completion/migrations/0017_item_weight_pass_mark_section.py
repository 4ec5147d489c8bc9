# Items carry a weight, a pass mark and a section, as imported course structures give them.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('completion', '0016_activity_facts_include_success'),
    ]

    operations = [
        migrations.AddField(
            model_name='item',
            name='pass_mark',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='item',
            name='section',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='item',
            name='weight',
            field=models.FloatField(blank=True, null=True),
        ),
    ]
