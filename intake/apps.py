from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Intake and screening"

    def ready(self) -> None:
        from intake.consent.first_versions import ensure_first_versions

        post_migrate.connect(ensure_first_versions, sender=self, dispatch_uid="intake.consent_first_versions")
