"""The SMS provider's webhook, included from clinic/urls.py at ``sms/`` (namespace ``sms``)."""

from django.urls import path

from scheduling.views import sms

app_name = "sms"

urlpatterns = [path("replies/", sms.sms_reply, name="replies")]
