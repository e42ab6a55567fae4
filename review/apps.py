from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Clinician review"

    def ready(self) -> None:
        # Intake enqueues the urgent-alert task by name, so every process that enqueues must have it registered.
        # Imported here: tasks.py needs the models, which are not loaded yet when this module is.
        from review import tasks  # noqa: F401
