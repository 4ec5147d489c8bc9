# Real learning histories: recorded outcomes (replacing the synthetic-only CohortOutcome, whose
# rows are copied over), enrolment details, item weights, pass marks and sections, event counts,
# the kind of an import, and `success` and `count` in the per-learner index.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def copy_cohort_outcomes(apps, schema_editor):
    old = apps.get_model("completion", "CohortOutcome")
    new = apps.get_model("completion", "Outcome")
    now = django.utils.timezone.now()
    new.objects.bulk_create(
        [
            new(
                membership_id=o.membership_id,
                result="completed" if o.completed else "withdrawn",
                decided_on=(o.last_active_at or o.membership.enrolled_at).date(),
                source="synthetic",
                note=f"{o.archetype} (seed {o.seed})",
                recorded_at=now,
            )
            for o in old.objects.select_related("membership").iterator()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('completion', '0016_activity_facts_include_success'),
        ('lti_tool', '0006_registration_links'),
    ]

    operations = [
        migrations.CreateModel(
            name='EnrolmentDetail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('prior_attempts', models.PositiveIntegerField(blank=True, null=True)),
                ('credits', models.FloatField(blank=True, null=True)),
                ('withdrawal_reason', models.CharField(blank=True, max_length=200)),
            ],
        ),
        migrations.CreateModel(
            name='Outcome',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('result', models.CharField(choices=[('completed', 'Completed'), ('passed', 'Passed'), ('failed', 'Failed'), ('withdrawn', 'Withdrawn')], max_length=12)),
                ('decided_on', models.DateField()),
                ('source', models.CharField(choices=[('import', 'Imported history'), ('lms', 'The LMS'), ('instructor', 'An instructor'), ('synthetic', 'Synthetic cohort')], max_length=12)),
                ('note', models.CharField(blank=True, max_length=200)),
                ('recorded_at', models.DateTimeField()),
            ],
        ),
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
            model_name='importbatch',
            name='kind',
            field=models.CharField(default='events', max_length=10),
        ),
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
        migrations.AddField(
            model_name='pendingactivity',
            name='count',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['course', 'person', 'occurred_at'], include=('item', 'verb', 'duration_seconds', 'score', 'success', 'count'), name='activity_facts'),
        ),
        migrations.AddField(
            model_name='enrolmentdetail',
            name='membership',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='lti_tool.membership'),
        ),
        migrations.AddField(
            model_name='outcome',
            name='membership',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='lti_tool.membership'),
        ),
        migrations.RunPython(copy_cohort_outcomes, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='cohortoutcome',
            name='membership',
        ),
        migrations.DeleteModel(
            name='CohortOutcome',
        ),
    ]
