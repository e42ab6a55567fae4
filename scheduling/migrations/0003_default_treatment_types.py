"""The default treatment types of issue 8. Every duration is data: a clinic admin changes it in clinic settings.

IV ketamine (clinical reference 3.1): 0.5 mg/kg over 40 min plus check-in and recovery, so the chair is booked
for 120 min; the clinician is held for the 45-minute dosing window after 15 minutes of check-in and IV access.
Spravato (3.2-3.4): check-in vitals 15 + dosing (5 min between devices) + at least 120 min observation + a
10-minute discharge check, about 160 min of chair; the clinician doses and comes back for the discharge check.
Consultation: the room and the clinician for 60 min.
"""

from django.db import migrations

IV_PREP = (
    "Do not eat for 6 hours before your infusion; clear liquids are fine until 2 hours before. "
    "Bring an adult who will drive you home: do not drive until the next day after a night's sleep."
)
SPRAVATO_PREP = (
    "No food for 2 hours and no drinks for 30 minutes before your session. Use any nasal steroid or "
    "decongestant at least 1 hour before. You will stay at least 2 hours after your dose. Someone must drive "
    "you home: do not drive until the next day after a restful sleep."
)

DEFAULTS = [
    dict(code="iv-ketamine", label="IV ketamine infusion", modality="iv", resource_kind="chair", chair_minutes=120,
         clinician_offset_minutes=15, clinician_minutes=45, discharge_minutes=0, dose_mg=None, preparation=IV_PREP),
    dict(code="spravato-56", label="Spravato 56 mg", modality="spravato", resource_kind="chair", chair_minutes=160,
         clinician_offset_minutes=10, clinician_minutes=15, discharge_minutes=10, dose_mg=56, preparation=SPRAVATO_PREP),
    dict(code="spravato-84", label="Spravato 84 mg", modality="spravato", resource_kind="chair", chair_minutes=160,
         clinician_offset_minutes=10, clinician_minutes=20, discharge_minutes=10, dose_mg=84, preparation=SPRAVATO_PREP),
    dict(code="consultation", label="Consultation", modality="consultation", resource_kind="room", chair_minutes=60,
         clinician_offset_minutes=0, clinician_minutes=60, discharge_minutes=0, dose_mg=None,
         preparation="Bring a list of your current medications."),
]  # fmt: skip


def add_defaults(apps, schema_editor):
    TreatmentType = apps.get_model("scheduling", "TreatmentType")
    for row in DEFAULTS:
        TreatmentType.objects.get_or_create(code=row["code"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_bookings")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
