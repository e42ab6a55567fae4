"""The three consent documents as the clinic starts with them (their texts: intake/consent/first_versions.py): the
general consent patients have signed with the intake since version 2026-11 (until now a template file), and the
two treatment consents it promises. Each is published as its document's first version: patients are asked to sign the treatment consents in the portal, and
only a later material version holds up bookings (intake/consent/selectors.py)."""

from django.db import migrations

from intake.consent.first_versions import DOCUMENTS


def seed(apps, schema_editor):
    from django.utils import timezone

    ConsentVersion = apps.get_model("intake", "ConsentVersion")
    now = timezone.now()
    for kind, version, title, body in DOCUMENTS:
        ConsentVersion.objects.get_or_create(
            kind=kind,
            number=1,
            defaults={
                "version": version,
                "title": title,
                "body": body,
                "change": "material",
                "created_at": now,
                "published_at": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("intake", "0012_consent_versions")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
