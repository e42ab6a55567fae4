from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic: people and roles"

    def ready(self) -> None:
        from django.core import checks
        from django.urls.converters import get_converters, register_converter

        from clinic.audit import audit_triggers_after_migrate, check_trusted_proxies
        from clinic.parsing import ObjectIdConverter
        from clinic.roles import sync_role_groups

        # <id:pk> in every URL pattern: before any URL module is imported (they are read on the first request).
        if "id" not in get_converters():
            register_converter(ObjectIdConverter, "id")

        # Groups and their permissions follow the code (clinic/roles.py) after every migrate, test databases included.
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
        # The audit trigger joins each audited table once its app's migration has created it.
        post_migrate.connect(audit_triggers_after_migrate, sender=self, dispatch_uid="clinic.audit_triggers")
        checks.register(check_trusted_proxies, checks.Tags.security, deploy=True)
