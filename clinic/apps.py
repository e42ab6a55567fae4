from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic: people and roles"

    def ready(self) -> None:
        from clinic.roles import sync_role_groups

        # Groups and their permissions follow the code (clinic/roles.py) after every migrate, test databases included.
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
