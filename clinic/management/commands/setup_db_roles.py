from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from clinic.db_roles import ROLE_ATTRIBUTES, RoleSetupError, connected_as_owner, grant_app_role


class Command(BaseCommand):
    help = (
        "Create the app's database role if it is missing and grant it what the app needs, connected as the tables' "
        f"owner (MIGRATION_DATABASE_URL, else DATABASE_URL). The role is {ROLE_ATTRIBUTES} and owns nothing; it "
        "may only read the audit trail and append record views. Safe to run again; run it after every migrate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "role", help="the role the app connects as (DATABASE_URL's user), e.g. clinic_app"
        )
        parser.add_argument(
            "--password",
            help="set the role's password (else it is left as it is; a new role gets none, for peer or trust "
            "sign-in, or set one yourself with psql's \\password)",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="the database alias (default: default)"
        )

    def execute(self, *args, **options):
        with connected_as_owner(options["database"]):
            return super().execute(*args, **options)

    def handle(self, *args, role: str, password: str | None, database: str, **options) -> None:
        try:
            done = grant_app_role(role=role, password=password, using=database)
        except RoleSetupError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"]:
            for line in done:
                self.stdout.write(line)
