from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # The services enqueue their tasks by name (they cannot import tasks.py, which imports them), so every
        # process that enqueues must have the tasks registered, not only a worker. Imported here: tasks.py needs the
        # models, which are not loaded yet when this module is.
        from scheduling import tasks  # noqa: F401
