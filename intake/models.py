from django.conf import settings
from django.db import models
from django.utils import timezone


class Patient(models.Model):
    """A person in the clinic's care. Their sign-in account is created when they accept an invitation."""

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
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, for example +16175550100.")
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
    def full_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}"

    @property
    def initials(self) -> str:
        """What notifications may carry instead of a name."""
        return f"{self.legal_first_name[:1]}{self.legal_last_name[:1]}".upper()
