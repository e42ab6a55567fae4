from datetime import date, time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from clinic.models import User
from clinic.roles import Role, assign_role, sync_role_groups
from demo import data as demo
from demo.clinical import tell_the_story
from intake.invitations import invitation_link, invite_patient
from intake.models import Patient
from scheduling.models import Clinician, Location, OpeningHours, Resource, WorkingHours


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class Command(BaseCommand):
    help = (
        "Load the demo clinic (one location, 6 chairs, a room, staff and 20 patients) and print its logins. "
        "Safe to run again."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        sync_role_groups()
        location, _ = Location.objects.update_or_create(
            name=demo.LOCATION["name"], defaults={k: v for k, v in demo.LOCATION.items() if k != "name"}
        )
        OpeningHours.objects.filter(location=location).delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(location=location, weekday=day, opens=_time(opens), closes=_time(closes))
            for day, (opens, closes) in demo.OPENING_HOURS.items()
        )
        for name in demo.CHAIRS:
            Resource.objects.update_or_create(
                location=location, name=name, defaults={"kind": Resource.Kind.CHAIR}
            )
        for name in demo.ROOMS:
            Resource.objects.update_or_create(
                location=location, name=name, defaults={"kind": Resource.Kind.ROOM}
            )

        for email, full_name in demo.ADMINS:
            self._person(email, full_name, Role.CLINIC_ADMIN)
        for email, full_name in demo.FRONT_DESK:
            self._person(email, full_name, Role.FRONT_DESK)
        for email, full_name, credentials, on_call, hours in demo.CLINICIANS:
            user = self._person(email, full_name, Role.CLINICIAN)
            clinician, _ = Clinician.objects.update_or_create(
                user=user, defaults={"credentials": credentials, "is_on_call": on_call}
            )
            clinician.locations.add(location)
            WorkingHours.objects.filter(clinician=clinician, location=location).delete()
            WorkingHours.objects.bulk_create(
                WorkingHours(
                    clinician=clinician,
                    location=location,
                    weekday=day,
                    starts=_time(starts),
                    ends=_time(ends),
                )
                for day, (starts, ends) in hours.items()
            )

        for index, (first, last, born) in enumerate(demo.PATIENTS):
            email = demo.patient_email(first, last)
            account: User | None = None
            if index < demo.PATIENT_LOGIN_COUNT:
                account = self._person(email, f"{first} {last}", Role.PATIENT)
            Patient.objects.update_or_create(
                email=email,
                defaults={
                    "user": account,
                    "location": location,
                    "legal_first_name": first,
                    "legal_last_name": last,
                    "date_of_birth": date.fromisoformat(born),
                },
            )
        patients = [
            Patient.objects.get(email=demo.patient_email(first, last)) for first, last, _ in demo.PATIENTS
        ]
        told = tell_the_story(
            location=location,
            clinician_user=User.objects.get(email=demo.CLINICIANS[0][0]),
            front_desk_user=User.objects.get(email=demo.FRONT_DESK[0][0]),
            patients=patients,
            now=timezone.now(),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo clinic ready: {location.name}, {len(demo.PATIENTS)} patients ({told} new intakes this run)."
            )
        )
        # `make run` repeats these lines once the app answers (clinic/stack.py).
        self.stdout.write(f"demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for role, email in demo.demo_logins():
            self.stdout.write(f"  {role:<14} {email}")
        if settings.STAFF_MFA_REQUIRED:
            self.stdout.write("staff set up two-step sign-in at first sign-in (any authenticator app);")
            self.stdout.write("for a quick look without one: STAFF_MFA_REQUIRED=0 make run")
        invitee = patients[-1]
        if invitee.user_id is None:
            # A fresh invitation each run, emailed as the front desk's would be, so the patient's side can be tried
            # from its first step; its link is built from SITE_URL like every emailed link.
            invitation = invite_patient(
                created_by=User.objects.get(email=demo.FRONT_DESK[0][0]),
                legal_first_name=invitee.legal_first_name,
                legal_last_name=invitee.legal_last_name,
                email=invitee.email,
                location=location,
                now=timezone.now(),
            )
            self.stdout.write(f"a new patient's invitation, as emailed to {invitee.email}:")
            self.stdout.write(f"  {invitation_link(invitation)}")

    def _person(self, email: str, full_name: str, role: Role) -> User:
        user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
        if created:
            user.set_password(demo.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        assign_role(user=user, role=role)
        return user
