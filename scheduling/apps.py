from django.apps import AppConfig
from django.db.models.signals import post_migrate


def first_run_course_templates(using: str = "default", **_kwargs) -> None:
    """A database with no series template at all (a fresh one after ``flush``, as the data migration's rows went
    with it) gets the first-run ones of scheduling/series.py. Never touches a table that has any: the clinic's
    edits, and its retired templates, stay as they are."""
    from scheduling import series
    from scheduling.models import CourseTemplate

    if CourseTemplate.objects.using(using).exists():
        return
    modality = {word: value for value, word in series.MODALITY_OF.items()}
    CourseTemplate.objects.using(using).bulk_create(
        CourseTemplate(
            code=template.code,
            label=template.label,
            modality=modality[template.modality],
            sessions=[[rule.week, rule.weekday_slot, rule.note] for rule in template.sessions],
            min_days_between=template.min_days_between,
            source=template.source,
        )
        for template in series.TEMPLATES.values()
    )


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # The services enqueue their tasks by name (they cannot import tasks.py, which imports them), so every
        # process that enqueues must have the tasks registered, not only a worker. Imported here: tasks.py needs the
        # models, which are not loaded yet when this module is.
        from scheduling import tasks  # noqa: F401

        post_migrate.connect(
            first_run_course_templates, sender=self, dispatch_uid="scheduling.first_run_course_templates"
        )
