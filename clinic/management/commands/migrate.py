from django.core.management.commands.migrate import Command as DjangoMigrate

from clinic.db_roles import connected_as_owner


class Command(DjangoMigrate):
    """Django's migrate, connected as the tables' owner when MIGRATION_DATABASE_URL is set: the app's own role
    (DATABASE_URL) may create and alter nothing."""

    def execute(self, *args, **options):
        with connected_as_owner(options["database"]):
            return super().execute(*args, **options)
