"""The access gates for intake records: every view that shows a patient's data gets it from here.
A record the user may not see is a 404, never a 403 that would confirm it exists."""

from django.http import Http404

from intake.models import Intake, IntakeSubmission, Patient


def patient_for_user(user) -> Patient:
    """The patient record of the signed-in patient."""
    patient = Patient.objects.filter(user_id=user.pk).first() if user.is_authenticated else None
    if patient is None:
        raise Http404("No patient record.")
    return patient


def intake_for_user(user, pk: int) -> Intake:
    """One of the signed-in patient's own intakes."""
    intake = Intake.objects.select_related("patient").filter(pk=pk, patient__user_id=user.pk).first()
    if intake is None:
        raise Http404("No such intake.")
    return intake


def submission_for_user(user, pk: int) -> IntakeSubmission:
    """One of the signed-in patient's own submissions."""
    submission = (
        IntakeSubmission.objects.select_related("patient")
        .filter(pk=pk, patient__user_id=user.pk)
        .defer("answers")
        .first()
    )
    if submission is None:
        raise Http404("No such submission.")
    return submission
