"""Two clinic admins demoting or deactivating each other at the same moment cannot leave the clinic without one:
the second change waits for the first and is then refused (real threads, each with its own connection)."""

import threading
import time

import pytest
from django.db import connection, transaction

from clinic import accounts
from clinic.models import User
from clinic.roles import Role
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one_clinic_admin():
    ada = factories.make_user(Role.CLINIC_ADMIN, email="ada@example.org", full_name="Ada Admin")
    bea = factories.make_user(Role.CLINIC_ADMIN, email="bea@example.org", full_name="Bea Admin")
    first_written = threading.Event()
    outcome: dict[str, object] = {}

    def ada_deactivates_bea() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = accounts.set_active(actor=ada, user=bea, is_active=False)
                first_written.set()
                time.sleep(0.5)  # still uncommitted while the other admin acts
        finally:
            first_written.set()
            connection.close()

    def bea_demotes_ada() -> None:
        first_written.wait(5)
        try:
            outcome["second"] = accounts.change_role(actor=bea, user=ada, role=Role.FRONT_DESK)
        except accounts.AccountChangeRefused as refused:
            outcome["second"] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=ada_deactivates_bea), threading.Thread(target=bea_demotes_ada)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert outcome["first"] is True
    assert isinstance(outcome["second"], accounts.AccountChangeRefused)
    assert list(
        User.objects.filter(is_active=True, groups__name=Role.CLINIC_ADMIN.group_name).values_list(
            "email", flat=True
        )
    ) == ["ada@example.org"]
