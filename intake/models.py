from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Modality(models.TextChoices):
    """How a treatment is given: the one list, used by treatment types, the booking gate and decisions."""

    IV_KETAMINE = "iv", _("IV ketamine")
    SPRAVATO = "spravato", _("Spravato (esketamine)")
    CONSULTATION = "consultation", _("Consultation")


class Patient(models.Model):
    """A person in the clinic's care. Their sign-in account is created when they accept an invitation."""

    class ReminderChannel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message (SMS)")
        BOTH = "both", _("Email and text message")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="patient"
    )
    location = models.ForeignKey(
        "scheduling.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="patients"
    )
    legal_first_name = models.CharField(max_length=100)
    legal_last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField()
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text=_("E.164, for example +16175550100."))
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)
    emergency_contact_relationship = models.CharField(max_length=100, blank=True)
    reminder_channel = models.CharField(
        max_length=10, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL
    )
    # Consent to text messages is recorded with its time: no SMS is ever sent without it.
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["legal_last_name", "legal_first_name"]
        indexes = [models.Index(fields=["legal_last_name", "legal_first_name"], name="patient_name_idx")]
        constraints = [
            models.UniqueConstraint(models.functions.Lower("email"), name="patient_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def time_zone(self) -> str:
        """The zone the patient's times are shown in: their location's, else the clinic's default."""
        return self.location.time_zone if self.location else settings.TIME_ZONE

    @property
    def full_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}"

    @property
    def initials(self) -> str:
        """What notifications may carry instead of a name."""
        return f"{self.legal_first_name[:1]}{self.legal_last_name[:1]}".upper()


class Invitation(models.Model):
    """An emailed, signed, expiring, single-use link with which a patient sets their password."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    nonce = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Withdrawn by the clinic (sent to a wrong address, or replaced by a newer one): the link stops working.
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="invitation_expires_later"
            )
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} ({'accepted' if self.accepted_at else 'open'})"


class PossibleDuplicate(models.Model):
    """Staff think two patient records are the same person (registered twice, a changed name). A flag shown on
    both records, not a merge: each record keeps its own append-only history. One row a pair, lower id first."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    other = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    flagged_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__lt=models.F("other")), name="duplicate_pair_in_order"
            ),
            models.UniqueConstraint(fields=["patient", "other"], name="duplicate_pair_once"),
        ]

    def __str__(self) -> str:
        return f"Patients {self.patient_id} and {self.other_id} may be one person"


class SmsConsentEvent(models.Model):
    """Every change of a patient's consent to text messages, and who or what made it: the intake or the portal
    (the patient's own choice on a page), or a reply to a message (STOP, START), as carriers require. Append-only."""

    class Change(models.TextChoices):
        GIVEN = "given", _("Agreed to text messages")
        WITHDRAWN = "withdrawn", _("Stopped text messages")

    class Source(models.TextChoices):
        INTAKE = "intake", _("Intake")
        PORTAL = "portal", _("Patient portal")
        SMS_REPLY = "sms_reply", _("Reply to a text message")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sms_consent_events")
    change = models.CharField(max_length=10, choices=Change.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    phone = models.CharField(max_length=32)  # the number the consent is for, as it was then
    reply = models.CharField(max_length=160, blank=True)  # the text the patient sent, for a reply
    provider_message_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["patient", "-at"], name="sms_consent_patient_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(change__in=["given", "withdrawn"]), name="sms_consent_change_known"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["intake", "portal", "sms_reply"]), name="sms_consent_source_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_change_display()} ({self.get_source_display()})"


class Intake(models.Model):
    """The intake a patient is filling in. Every step is saved here as they go (save and resume)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="intakes")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    # {step key: the cleaned answers of that step, JSON-safe}; only valid steps are ever stored.
    answers = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="in_progress"),
                name="intake_one_in_progress_per_patient",
            ),
            models.CheckConstraint(
                condition=Q(status="in_progress", submitted_at__isnull=True)
                | Q(status="submitted", submitted_at__isnull=False),
                name="intake_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Intake {self.pk} ({self.get_status_display()})"


class ConsentKind(models.TextChoices):
    """The consent documents: the general one every patient signs with the intake, and one per treatment."""

    GENERAL = "general", _("General consent")
    IV_KETAMINE = "iv", _("Off-label IV ketamine treatment consent")
    SPRAVATO = "spravato", _("Spravato (esketamine) treatment consent")


class ConsentVersion(models.Model):
    """One version of a consent document. The clinic admin edits a draft (``published_at`` empty) and publishes
    it as a material change (every affected patient signs again before booking) or a minor one (wording: the
    signatures stand). A published version is never changed again (the database refuses it, migration 0013)."""

    class Change(models.TextChoices):
        MATERIAL = "material", _("Material: patients must sign it again")
        MINOR = "minor", _("Minor: wording or typing, no new signature")

    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    # The order of a document's versions; the label is what patients read and signatures name.
    number = models.PositiveIntegerField()
    version = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text=_("Plain text: a blank line starts a new paragraph."))
    change = models.CharField(max_length=10, choices=Change.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="consent_version_number_unique"),
            models.UniqueConstraint(fields=["kind", "version"], name="consent_version_label_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(published_at__isnull=True), name="consent_one_draft_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(published_at__isnull=True, change="")
                | Q(published_at__isnull=False, change__in=["material", "minor"]),
                name="consent_version_published_has_change",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["general", "iv", "spravato"]), name="consent_version_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ConsentRecord(models.Model):
    """A patient's e-signature on one version of a consent document, or their withdrawal of it (typed name and
    time alike). Rows are never changed or deleted (migration 0003): the latest row of a kind is the state."""

    class Action(models.TextChoices):
        SIGNED = "signed", _("Signed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices, default=ConsentKind.GENERAL)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.SIGNED)
    version = models.CharField(max_length=40)
    text_sha256 = models.CharField(max_length=64)
    typed_name = models.CharField(max_length=200)
    agreed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-agreed_at"], name="consent_patient_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["general", "iv", "spravato"]), name="consent_record_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(action__in=["signed", "withdrawn"]), name="consent_record_action_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Consent {self.kind} {self.version} {self.action} {self.agreed_at:%Y-%m-%d}"


class IntakeSubmission(models.Model):
    """An immutable snapshot: the answers as submitted, with the scores and findings computed from them.

    The database refuses UPDATE and DELETE on this table (migration 0003): a correction is a new submission.
    """

    class Kind(models.TextChoices):
        INTAKE = "intake", _("Intake")
        RESCREEN = "rescreen", _("Pre-session re-screen")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="submissions")
    intake = models.OneToOneField(
        Intake, null=True, blank=True, on_delete=models.PROTECT, related_name="submission"
    )
    consent = models.ForeignKey(
        ConsentRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()
    answers = models.JSONField()
    instrument_versions = models.JSONField(default=dict)
    scores = models.JSONField(default=dict)  # {instrument code: score.as_dict()}
    findings = models.JSONField(default=list)  # [finding as dict], most serious first
    trd = models.JSONField(null=True, blank=True)
    bmi = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    cssrs_risk = models.CharField(max_length=10, blank=True)
    phq9_item9 = models.PositiveSmallIntegerField(null=True, blank=True)
    has_hard_stop = models.BooleanField(default=False)
    is_urgent = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-submitted_at"], name="submission_patient_idx"),
            models.Index(fields=["kind", "-submitted_at"], name="submission_kind_idx"),
            # The eligibility gate's latest intake (intake_eligibility_facts), read for every patient of the day
            # view on each request: the first index entry is the answer, read without visiting the table.
            models.Index(
                fields=["patient", "-submitted_at", "-id"],
                condition=Q(kind="intake"),
                name="submission_latest_intake_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.submitted_at:%Y-%m-%d}"


class InstrumentResponse(models.Model):
    """One questionnaire as answered in a submission, with its score: the rows that score trends read."""

    submission = models.ForeignKey(IntakeSubmission, on_delete=models.PROTECT, related_name="responses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="instrument_responses")
    instrument = models.CharField(max_length=40)
    version = models.CharField(max_length=10)
    answers = models.JSONField()
    score = models.JSONField()
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=30, blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "instrument"], name="response_one_per_instrument"),
        ]
        indexes = [models.Index(fields=["patient", "instrument", "answered_at"], name="response_trend_idx")]

    def __str__(self) -> str:
        return f"{self.instrument} v{self.version} of {self.answered_at:%Y-%m-%d}"


class UrgentAlert(models.Model):
    """A positive suicide-risk screen. It stays open until a clinician acknowledges it with a note.

    Raised by a submission (intake or re-screen), or already when a high-risk C-SSRS step of an intake is saved,
    before the intake is submitted: one alert per intake, whichever comes first (the submission then joins the
    alert its step raised, ``intake.services``)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="urgent_alerts")
    submission = models.OneToOneField(
        IntakeSubmission, null=True, blank=True, on_delete=models.PROTECT, related_name="urgent_alert"
    )
    # The intake the alert belongs to; unique, so saving the step again or submitting never raises a second one.
    intake = models.OneToOneField(
        Intake, null=True, blank=True, on_delete=models.PROTECT, related_name="urgent_alert"
    )
    reasons = models.JSONField(default=list)  # e.g. ["C-SSRS high risk", "PHQ-9 item 9 answered 2"]
    created_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(acknowledged_at__isnull=True), name="alert_open_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | (Q(acknowledged_by__isnull=False) & ~Q(acknowledgement_note="")),
                name="alert_acknowledged_with_note",
            ),
            models.CheckConstraint(
                condition=Q(submission__isnull=False) | Q(intake__isnull=False),
                name="alert_has_a_source",
            ),
        ]

    def __str__(self) -> str:
        return f"Urgent alert {self.pk} ({'acknowledged' if self.acknowledged_at else 'open'})"

    @property
    def zone(self) -> str:
        """The zone its times are shown in: the patient's."""
        return self.patient.time_zone

    @property
    def raised_before_submission(self) -> bool:
        """Raised by a saved intake step before the intake was submitted (the submission may have joined it)."""
        return self.intake_id is not None and (
            self.submission is None or self.created_at < self.submission.submitted_at
        )


# --- Clinician review: eligibility decisions and clinician-rated scores ------------------------------------------
# Both tables are append-only: the database refuses UPDATE and DELETE (migration 0004). A change of mind is a new
# decision that supersedes the current one; a mistyped rating is corrected by a new rating that replaces it.

_BLANK = r"^\s*$"


class EligibilityDecision(models.Model):
    """A clinician's signed decision on whether, and with what, a patient may be treated. Booking reads it."""

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        MORE_INFO_NEEDED = "more_info_needed", _("More information needed")

    class Modality(models.TextChoices):
        """What a decision covers: one treatment modality, both, or none."""

        IV = Modality.IV_KETAMINE.value, _("IV ketamine")
        SPRAVATO = Modality.SPRAVATO.value, _("Spravato (esketamine)")
        BOTH = "both", _("IV ketamine and Spravato")
        NONE = "none", _("No treatment")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="eligibility_decisions")
    # The intake the clinician reviewed: a newer intake goes back to the queue, whatever was decided before.
    submission = models.ForeignKey(
        IntakeSubmission,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="eligibility_decisions",
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    modality = models.CharField(max_length=10, choices=Modality.choices, default=Modality.NONE)
    reason = models.TextField(blank=True, help_text=_("Why. Required when the patient is not eligible."))
    message_to_patient = models.TextField(
        blank=True,
        help_text=_("What the patient reads in their portal. Required when more information is needed."),
    )
    reopened_steps = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    # Codes of the hard-stop findings this decision clears; each needs the written justification below.
    overridden_findings = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    override_justification = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    class Meta:
        # The decision in force (intake_eligibility_facts), read for every patient of the day view on each request:
        # the first index entry is the answer, with the columns the gate reads, without visiting the table.
        indexes = [
            models.Index(
                fields=["patient", "-decided_at", "-id"],
                include=["submission", "outcome", "modality"],
                name="decision_patient_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="eligible", modality__in=["iv", "spravato", "both"])
                | Q(outcome__in=["not_eligible", "more_info_needed"], modality="none"),
                name="decision_outcome_matches_modality",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="not_eligible") | ~Q(reason__regex=_BLANK),
                name="decision_not_eligible_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="more_info_needed") | ~Q(message_to_patient__regex=_BLANK),
                name="decision_more_info_has_message",
            ),
            models.CheckConstraint(
                condition=Q(reopened_steps=[]) | Q(outcome="more_info_needed"),
                name="decision_reopens_only_for_more_info",
            ),
            models.CheckConstraint(
                condition=Q(overridden_findings=[]) | ~Q(override_justification__regex=_BLANK),
                name="decision_override_has_justification",
            ),
            # With supersedes one-to-one, one first decision per patient keeps each patient's history one line.
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(supersedes__isnull=True),
                name="decision_one_first_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"Eligibility decision {self.pk} ({self.get_outcome_display()})"

    @property
    def reopened_titles(self) -> list[str]:
        """The titles of the steps this decision reopened, in the words the patient saw."""
        from intake.steps import STEPS_BY_KEY  # the step catalogue imports these models

        return [STEPS_BY_KEY[key].title if key in STEPS_BY_KEY else key for key in self.reopened_steps]

    @property
    def overridden_labels(self) -> list[str]:
        """The labels of the hard-stop findings this decision overrode, as the submission named them."""
        findings = self.submission.findings if self.submission_id and self.submission else []
        labels = {f.get("code"): f.get("label") for f in findings}
        return [labels.get(code) or code for code in self.overridden_findings]

    @property
    def allows(self) -> frozenset[str]:
        """The treatment modalities this decision clears ("iv", "spravato")."""
        if self.outcome != self.Outcome.ELIGIBLE:
            return frozenset()
        return (
            frozenset({"iv", "spravato"})
            if self.modality == self.Modality.BOTH
            else frozenset({self.modality})
        )
