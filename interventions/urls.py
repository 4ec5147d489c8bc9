from __future__ import annotations

from django.urls import path

from interventions import bulk_views, reply_views, views
from interventions.learners import contact as contact_views
from interventions.learners import team as team_views
from interventions.learners import views as learner_views
from interventions.playbook_editor import views as settings_views

app_name = "interventions"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("inbound/sms/", reply_views.inbound_sms, name="inbound_sms"),
    path("inbound/email/", reply_views.inbound_email, name="inbound_email"),
    path("pause/", views.pause, name="pause"),
    path("contact/", contact_views.my_contact, name="contact"),
    path("team/", team_views.my_team, name="team"),
    path("course/", views.course_interventions, name="course"),
    path("course/playbooks/", settings_views.playbooks_page, name="playbooks"),
    path("course/experiments/", settings_views.experiments_page, name="experiments"),
    path("course/help/", settings_views.support_page, name="support"),
    path("course/templates/<str:key>/", settings_views.template_page, name="template"),
    path("course/learners/<int:membership_id>/", learner_views.learner_detail, name="learner"),
    path("course/learners/message/", bulk_views.bulk_message, name="bulk_message"),
    path("course/learners/message/<int:bulk_id>/", bulk_views.bulk_done, name="bulk_done"),
]
