"""Patient-facing intake pages. Views parse and render; every change goes through intake.services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from clinic import policies
from clinic.access import role_required
from clinic.audit import client_ip
from clinic.roles import Role
from intake import forms, invitations, services
from intake.answers import answer_words
from intake.consent import selectors as consent_selectors
from intake.export import export_json
from intake.export_pdf import export_pdf
from intake.instruments import load_instrument
from intake.models import ConsentKind, Intake, IntakeSubmission
from intake.selectors import intake_for_user, patient_for_user, submission_for_user
from intake.steps import STEPS_BY_KEY, Step, progress, steps_for

BLANK_ROWS = 2


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def intake_start(request: HttpRequest) -> HttpResponse:
    """Resume the draft at its first unfinished step (on any device: the draft lives on the server), or show the
    first step of a new intake. Opening it writes nothing: a new draft is made when its first step is saved."""
    patient = patient_for_user(request.user)
    intake = Intake.objects.filter(patient=patient, status=Intake.Status.IN_PROGRESS).first()
    if intake is not None and request.method == "GET":
        missing = services.missing_steps(intake)
        if not missing:
            return redirect("intake:review", pk=intake.pk)
        return redirect("intake:step", pk=intake.pk, step=missing[0])
    if request.method == "GET" and IntakeSubmission.objects.filter(patient=patient, kind="intake").exists():
        return redirect("portal:home")
    now = timezone.now()
    draft = intake or services.unsaved_intake(patient=patient, now=now)
    first = steps_for(draft.answers)[0]
    if request.method == "GET":
        return _render_step(request, draft, first, build_step(first, draft))
    page = build_step(first, draft, request.POST)
    if not page.is_valid():
        return _render_step(request, draft, first, page, status=400)
    intake = services.start_intake(patient=patient, step_key=first.key, answers=page.answers(), now=now)
    return _after_save(request, intake, first, extra_rows=0)


# --- Steps -------------------------------------------------------------------------------------------------------


@dataclass
class StepForms:
    """The form of one step, with its list of rows where the step has one (medicines, antidepressant trials)."""

    form: forms.StepForm
    formset: BaseFormSet | None = None
    rows_key: str = ""
    row_fields: tuple[str, ...] = ()
    notice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        if self.formset is not None:
            valid = self.formset.is_valid() and valid
        return valid

    def answers(self) -> dict[str, Any]:
        answers = self.form.answers()
        if self.formset is not None:
            answers[self.rows_key] = [
                row.answers()
                for row in self.formset.forms
                if row.cleaned_data and row.cleaned_data.get(self.row_fields[0])
            ]
        return answers

    @property
    def error_count(self) -> int:
        count = len(self.form.errors)
        if self.formset is not None and self.formset.is_bound:
            count += sum(len(errors) for errors in self.formset.errors) + len(self.formset.non_form_errors())
        return count


def build_step(step: Step, intake: Intake, data=None, *, extra_rows: int = 0) -> StepForms:
    saved = intake.answers.get(step.key)
    initial = saved if saved is not None else intake.answers.get("_prefill", {}).get(step.key, {})
    today = timezone.localdate()
    if step.key == "contact":
        return StepForms(forms.ContactForm(data, initial=initial, today=today))
    if step.key == "reasons":
        return StepForms(forms.ReasonsForm(data, initial=initial))
    if step.key == "medical":
        return StepForms(forms.MedicalHistoryForm(data, initial=initial))
    if step.key == "medications":
        rows = initial.get("items", [])
        formset = _formset(forms.MedicationFormSet, "items", data, rows, extra_rows)
        return StepForms(forms.MedicationsForm(data, initial=initial), formset, "items", ("name",))
    if step.key == "treatment":
        rows = initial.get("trials", [])
        formset = _formset(forms.AntidepressantTrialFormSet, "trials", data, rows, extra_rows)
        return StepForms(forms.TreatmentHistoryForm(data, initial=initial), formset, "trials", ("drug",))
    if step.key == "body":
        return StepForms(forms.BodyForm(data, initial=initial or {"units": "us"}))
    if step.key == "consent":
        contact = intake.answers.get("contact", {})
        legal_name = f"{contact.get('legal_first_name', '')} {contact.get('legal_last_name', '')}".strip()
        stands = consent_selectors.signature_stands(initial.get("consent_id"), intake.patient)
        form = forms.ConsentForm(data, initial=initial if stands else {}, legal_name=legal_name)
        version = consent_selectors.current_version(ConsentKind.GENERAL)
        return StepForms(form, extra={"consent_version": version, "legal_name": legal_name})
    assert step.instrument is not None, "every other step is handled above"
    definition = load_instrument(step.instrument)
    return StepForms(
        forms.InstrumentForm(data, initial=initial, definition=definition), extra={"definition": definition}
    )


def _formset(formset_class, prefix: str, data, rows: list[dict], extra_rows: int):
    if data is not None:
        return formset_class(data, prefix=prefix)
    initial = [*rows, *([{}] * (BLANK_ROWS + extra_rows))]
    return formset_class(initial=initial, prefix=prefix)


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def intake_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    intake = intake_for_user(request.user, pk)
    if intake.status != Intake.Status.IN_PROGRESS:
        messages.info(request, gettext("Your intake has been submitted; it can no longer be changed."))
        return redirect("portal:home")
    steps = steps_for(intake.answers)
    current = STEPS_BY_KEY.get(step)
    if current is None or current not in steps:
        messages.info(request, gettext("That step is not part of your intake."))
        return redirect(
            "intake:step",
            pk=intake.pk,
            step=services.missing_steps(intake)[0] if services.missing_steps(intake) else steps[0].key,
        )

    extra_rows = _int(request.GET.get("rows"), 0, 20)
    if request.method == "GET":
        page = build_step(current, intake, extra_rows=extra_rows)
        return _render_step(request, intake, current, page)

    page = build_step(current, intake, request.POST)
    if current.instrument == "cssrs" and isinstance(page.form, forms.InstrumentForm):
        revealed = _revealed_follow_ups(page.form, request.POST)
        if revealed:
            # Answering yes to question 2 opens questions 3 to 5 (Columbia's branching): show them, keep the
            # answers given, and only then ask for the missing ones.
            page = build_step(current, intake)
            page.form = forms.InstrumentForm(
                initial=_posted(request.POST), definition=page.extra["definition"]
            )
            page.notice = gettext(
                "Thank you. Because of your answer to question 2, please answer questions 3 to 5 too."
            )
            return _render_step(request, intake, current, page)
    if not page.is_valid():
        return _render_step(request, intake, current, page, status=400)

    if current.key == "consent":
        try:
            services.sign_consent(
                intake=intake,
                typed_name=page.form.cleaned_data["typed_name"],
                now=timezone.now(),
                ip_address=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except services.IntakeError as refusal:
            page.form.add_error(None, refusal.message)
            return _render_step(request, intake, current, page, status=400)
    else:
        intake = services.save_intake_step(
            intake=intake, step_key=current.key, answers=page.answers(), now=timezone.now()
        )

    return _after_save(request, intake, current, extra_rows)


def _after_save(request: HttpRequest, intake: Intake, current: Step, extra_rows: int) -> HttpResponse:
    """Where the patient goes once a step is saved: the button they pressed decides."""
    action = request.POST.get("action", "next")
    if action == "add_row":
        url = reverse("intake:step", kwargs={"pk": intake.pk, "step": current.key})
        return redirect(f"{url}?rows={extra_rows + 3}")
    if action == "save_exit":
        messages.success(request, gettext("Saved. You can come back and finish at any time, on any device."))
        return redirect("portal:home")
    steps = steps_for(intake.answers)
    index = steps.index(current) if current in steps else 0
    if action == "back":
        return redirect("intake:step", pk=intake.pk, step=steps[max(index - 1, 0)].key)
    if index + 1 < len(steps):
        return redirect("intake:step", pk=intake.pk, step=steps[index + 1].key)
    return redirect("intake:review", pk=intake.pk)


def _int(raw: str | None, lowest: int, highest: int) -> int:
    try:
        return min(max(int(raw or lowest), lowest), highest)
    except ValueError:
        return lowest


def _posted(post) -> dict[str, str]:
    return {key: value for key, value in post.items() if key not in {"csrfmiddlewaretoken", "action"}}


def _revealed_follow_ups(form: forms.InstrumentForm, post) -> bool:
    """True when the posted answers open follow-up questions that were not on the page the patient saw."""
    return any(
        item.shown_if is not None and item.key in form.fields and item.key not in post
        for item in form.definition.items
    )


def _render_step(request, intake: Intake, step: Step, page: StepForms, status: int = 200) -> HttpResponse:
    template = {
        "medications": "intake/step_rows.html",
        "treatment": "intake/step_rows.html",
        "consent": "intake/step_consent.html",
    }.get(step.key, "intake/step_instrument.html" if step.instrument else "intake/step.html")
    urgent = services.step_risk(intake) == "high"
    return render(
        request,
        template,
        {
            "intake": intake,
            "step": step,
            "page": page,
            "form": page.form,
            "progress": progress(intake.answers, step),
            **crisis_context(shown=urgent or step.instrument == "cssrs", urgent=urgent),
        },
        status=status,
    )


def crisis_context(*, shown: bool, urgent: bool = False) -> dict[str, bool]:
    """What base.html needs to show the one crisis block (templates/clinic/_crisis.html) at the top of the page:
    ``urgent`` when the patient's answers show high risk and a clinician has been alerted."""
    return {"crisis_block": shown or urgent, "crisis_block_urgent": urgent}


# --- Review and submit --------------------------------------------------------------------------------------------


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def intake_review(request: HttpRequest, pk: int) -> HttpResponse:
    intake = intake_for_user(request.user, pk)
    if intake.status != Intake.Status.IN_PROGRESS:
        return redirect("intake:submitted", pk=intake.submission.pk)
    missing = services.missing_steps(intake)
    if request.method == "POST":
        try:
            submission = services.submit_intake(
                intake=intake, now=timezone.now(), ip_address=client_ip(request)
            )
        except services.IntakeError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("intake:submitted", pk=submission.pk)
    sections = [
        {
            "step": step,
            "rows": describe_step(step, intake.answers.get(step.key)),
            "missing": step.key in missing,
        }
        for step in steps_for(intake.answers)
    ]
    return render(
        request,
        "intake/review.html",
        {
            "intake": intake,
            "sections": sections,
            "missing": missing,
            "progress": progress(intake.answers, None),
            **crisis_context(shown=False, urgent=services.step_risk(intake) == "high"),
        },
    )


def describe_step(step: Step, answers: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The saved answers of a step as (question, answer) pairs in the patient's own words."""
    if answers is None:
        return []
    if step.instrument:
        definition = load_instrument(step.instrument)
        return [
            (item.text, definition.item(item.key).option_label(answers[item.key]))
            for item in definition.items
            if answers.get(item.key) is not None
        ]
    if step.key == "consent":
        return [("Signed as", answers.get("typed_name", "")), ("Consent version", answers.get("version", ""))]
    form = build_step(step, Intake(answers={step.key: answers})).form
    rows = []
    for name, bound in form.fields.items():
        value = answers.get(name)
        if value in (None, "", [], False) and name != "sms_consent":
            continue
        rows.append((str(bound.label), answer_words(bound, value, name=name)))
    for row in answers.get("items", []):
        dose = gettext(", %(dose)s mg") % {"dose": row["dose_mg"]} if row.get("dose_mg") else ""
        times = (
            gettext(", %(times)s times a day") % {"times": row["times_per_day"]}
            if row.get("times_per_day")
            else ""
        )
        rows.append((gettext("Medicine"), f"{row['name']}{dose}{times}"))
    for row in answers.get("trials", []):
        improvement = dict((code, label) for code, label, _ in forms.IMPROVEMENT_CHOICES).get(
            row.get("improvement"), ""
        )
        rows.append(
            (
                gettext("Antidepressant"),
                gettext("%(drug)s: %(weeks)s weeks, %(improvement)s")
                % {"drug": row["drug"], "weeks": row.get("weeks"), "improvement": improvement.lower()},
            )
        )
    return rows


@role_required(Role.PATIENT)
def intake_submitted(request: HttpRequest, pk: int) -> HttpResponse:
    submission = submission_for_user(request.user, pk)
    context = {"submission": submission, **crisis_context(shown=False, urgent=submission.is_urgent)}
    return render(request, "intake/submitted.html", context)


# --- Re-screen before a session -----------------------------------------------------------------------------------


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def rescreen(request: HttpRequest) -> HttpResponse:
    patient = patient_for_user(request.user)
    definitions = [load_instrument("phq9"), load_instrument("cssrs_since_last_visit")]
    data = request.POST if request.method == "POST" else None
    form_list = [forms.InstrumentForm(data, definition=d, prefix=d.code) for d in definitions]
    notice = ""
    if data is not None:
        cssrs_form = form_list[1]
        if any(
            item.shown_if is not None and item.key in cssrs_form.fields and f"{d.code}-{item.key}" not in data
            for d in definitions[1:]
            for item in d.items
        ):
            initial = {
                k.split("-", 1)[1]: v for k, v in data.items() if k.startswith(definitions[1].code + "-")
            }
            form_list = [
                forms.InstrumentForm(data, definition=definitions[0], prefix=definitions[0].code),
                forms.InstrumentForm(initial=initial, definition=definitions[1], prefix=definitions[1].code),
            ]
            form_list[0].is_valid()
            notice = "Thank you. Because of your answer to question 2, please answer questions 3 to 5 too."
        elif all(form.is_valid() for form in form_list):
            try:
                submission = services.submit_rescreen(
                    patient=patient,
                    answers={d.code: f.answers() for d, f in zip(definitions, form_list, strict=True)},
                    now=timezone.now(),
                    ip_address=client_ip(request),
                )
            except services.IntakeError as exc:
                messages.error(request, str(exc))
            else:
                return redirect("intake:submitted", pk=submission.pk)
    status = 400 if data is not None and not notice and any(form.errors for form in form_list) else 200
    return render(
        request,
        "intake/rescreen.html",
        {
            "forms": list(zip(definitions, form_list, strict=True)),
            "notice": notice,
            **crisis_context(shown=True),
        },
        status=status,
    )


# --- The patient's own data ----------------------------------------------------------------------------------


@role_required(Role.PATIENT)
def my_data(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/my_data.html", {"patient": patient_for_user(request.user)})


@role_required(Role.PATIENT)
def my_data_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """Everything the clinic holds about the signed-in patient, as JSON or PDF."""
    if fmt not in ("json", "pdf"):
        raise Http404("No such format.")
    patient = patient_for_user(request.user)
    stamp = timezone.localdate().isoformat()
    if fmt == "json":
        response = HttpResponse(export_json(patient), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(export_pdf(patient), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="my-clinic-record-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Invitations and registration ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    checked = invitations.check_invitation(token=token, now=timezone.now())
    if checked.problem:
        status = 404 if checked.invitation is None else 410
        return render(request, "intake/invitation_problem.html", {"problem": checked.problem}, status=status)
    form = forms.SetPasswordForInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_invitation(
                token=token, password=form.cleaned_data["password1"], now=timezone.now()
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except services.IntakeError as exc:
            return render(request, "intake/invitation_problem.html", {"problem": str(exc)}, status=410)
        else:
            login(request, user, backend="clinic.security.ClinicModelBackend")
            messages.success(request, gettext("Welcome. Your account is ready; let's start your intake."))
            return redirect("intake:start")
    return render(
        request,
        "intake/accept_invitation.html",
        {"form": form, "invitation": checked.invitation},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if not policies.value("INTAKE_SELF_REGISTRATION"):
        return render(request, "intake/register_closed.html", status=404)
    form = forms.SelfRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitations.register_patient(**form.cleaned_data, now=timezone.now())
        return render(request, "intake/register_done.html", {"email": form.cleaned_data["email"]})
    return render(request, "intake/register.html", {"form": form}, status=400 if form.errors else 200)
