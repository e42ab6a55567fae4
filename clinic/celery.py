"""The Celery application: Redis broker, settings from Django's `CELERY_*` names (see clinic/settings.py)."""

import os
from contextlib import AbstractContextManager

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Writes made by tasks are attributed to the task in the audit trail (clinic/audit.py).
_task_contexts: dict[str, AbstractContextManager] = {}


@task_prerun.connect
def _audit_task_start(task_id=None, task=None, **kwargs) -> None:
    from clinic.audit import acting_as  # needs Django's apps, loaded after this module

    context = acting_as(actor_id=None, actor_ip=None, context=f"task:{task.name}")
    context.__enter__()
    _task_contexts[task_id] = context


@task_postrun.connect
def _audit_task_end(task_id=None, **kwargs) -> None:
    context = _task_contexts.pop(task_id, None)
    if context is not None:
        context.__exit__(None, None, None)
