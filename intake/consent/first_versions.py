"""The first version of each consent document: the general consent patients have signed with the intake since
version 2026-11, and the two treatment consents it promises. Published as they stand (intake migration 0013, and
after a test database is emptied, ``ensure_first_versions``); every later version is the clinic admin's, in the
app. Never edit these texts: patients signed them."""

from __future__ import annotations

from datetime import UTC, datetime

GENERAL = """By signing, you agree that:

1. Evaluation. The clinic's clinicians will use the answers you give here, together with an interview and any records you share, to decide whether ketamine infusions or esketamine (Spravato) nasal spray may be suitable for you. Filling in this intake does not mean you will be offered treatment.

2. Honest answers. You will answer as fully and truthfully as you can, and tell the clinic about changes to your health or medicines before each session.

3. Safety. If your answers suggest you may be at risk of harming yourself, a clinician will be alerted and may contact you, your emergency contact or emergency services. In a crisis, call or text 988, or call 911.

4. Treatment risks. If treatment is offered, a clinician will explain its benefits and risks, including raised blood pressure, dissociation, sedation, nausea and misuse, and you will be asked to sign a separate treatment consent. You must not drive until the day after a session, and someone must take you home.

5. Your information. The clinic keeps your information confidential and uses it for your care, for running the clinic and as the law requires, including reports required for esketamine (the SPRAVATO REMS program). You may ask for a copy of everything the clinic holds about you.

6. Contact. The clinic may contact you by the phone, email and text-message choices you give on the contact step.

You may withdraw this consent at any time, in your portal or by telling the clinic. Withdrawing does not affect care you have already received."""

IV_KETAMINE = """This consent is for a course of ketamine given into a vein (an infusion) to treat depression or another condition your clinician has discussed with you. Please read it, ask the clinic about anything that is not clear, and sign only when you are ready.

1. Off-label use. Ketamine is approved by the FDA as an anesthetic. Using it for depression, anxiety, PTSD or OCD is "off-label": doctors may prescribe it this way, but the FDA has not approved it for these uses, and there is no official dose or schedule. Your clinician chooses the dose (usually about 0.5 mg for each kilogram of your weight, given over about 40 minutes) and the number of sessions.

2. What to expect. A usual course starts with up to six infusions over two to three weeks. Some people feel better within days; some do not improve. The improvement may wear off, and further sessions may be offered. Treatment is not guaranteed to work.

3. Risks while it runs. Your blood pressure and heart rate usually rise during the infusion, most around 30 to 40 minutes after it starts, and are checked throughout. You may feel detached from yourself or your surroundings, see or hear things differently, feel drowsy, dizzy or sick, or have blurred or double vision. These effects usually pass within an hour or two of the end of the infusion. Rarely, breathing slows or blood pressure rises too far: the infusion is then slowed or stopped, and staff trained to respond are present.

4. Other risks. Ketamine can be misused, and regular use can harm the bladder (pain, urgency, blood in the urine): tell the clinic about any such symptoms. It is not recommended in pregnancy. Some medicines change its effects, including sedatives, opioids, stimulants and thyroid medicines: tell the clinic about every medicine you take, and about any change.

5. Before and after each session. Follow the fasting instructions the clinic gives you. You will stay at the clinic until a clinician has checked that you are ready to leave. An adult must take you home. Do not drive, operate machinery or make important decisions until the next day after a night's sleep.

6. Other choices. Other treatments exist, including medicines, talking therapies, esketamine (Spravato), TMS and ECT. Your clinician can talk them through with you.

7. Your choice. Taking part is voluntary. You may stop treatment or withdraw this consent at any time, in your portal or by telling the clinic; no new sessions are then booked for you, and your other care is not affected."""

SPRAVATO = """This consent is for treatment with esketamine nasal spray (Spravato), which you spray into your own nose at the clinic under a clinician's watch. Please read it, ask the clinic about anything that is not clear, and sign only when you are ready.

1. What it is. Spravato is approved by the FDA for adults with depression that has not improved after trying at least two antidepressants, and, together with an oral antidepressant, for depressive symptoms in adults with sudden suicidal thoughts or actions. It is a controlled medicine.

2. The REMS program. Because of its risks, Spravato is available only through a safety program (the SPRAVATO REMS). You must be enrolled in it before your first session. The clinic sends the program a monitoring form after every session, with your blood pressure, the checks made and the medicines you take. You never take Spravato home.

3. What to expect. Usually sessions are twice a week for the first four weeks, then once a week, then once a week or every two weeks. Do not eat for 2 hours or drink for 30 minutes before a session. If you use a nasal steroid or decongestant, use it at least 1 hour before.

4. Risks. You may feel sleepy or very drowsy, feel detached from yourself or your surroundings, feel dizzy or sick, or have a rise in blood pressure, which is checked before your dose, about 40 minutes after it, and before you leave. Rarely, breathing slows. Spravato can be misused. Like other antidepressants, it carries a warning about suicidal thoughts and actions: tell the clinic straight away if these appear or get worse. It is not recommended in pregnancy or while breastfeeding. Tell the clinic about every medicine you take, especially sedatives, opioids, stimulants and MAO inhibitors.

5. After each dose. You stay at the clinic and are watched for at least 2 hours, until a clinician finds you ready to leave. An adult must take you home. Do not drive or operate machinery until the next day after a restful sleep.

6. Other choices. Other treatments exist, including other medicines, talking therapies, ketamine infusions, TMS and ECT. Your clinician can talk them through with you.

7. Your choice. Taking part is voluntary. You may stop treatment or withdraw this consent at any time, in your portal or by telling the clinic; no new sessions are then booked for you, and your other care is not affected."""

DOCUMENTS = (
    ("general", "2026-11", "Consent to evaluation for ketamine or esketamine treatment", GENERAL),
    ("iv", "2026-12", "Consent to off-label IV ketamine treatment", IV_KETAMINE),
    ("spravato", "2026-12", "Consent to Spravato (esketamine) treatment", SPRAVATO),
)

# When the first versions count as published where the migration did not record it (an emptied test database).
FIRST_PUBLISHED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def ensure_first_versions(using: str = "default", **kwargs) -> None:
    """post_migrate: the first versions exist (a flushed test database loses its migrations' data)."""
    from django.db import connections

    from intake.models import ConsentVersion

    if ConsentVersion._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated back to before the table
    if ConsentVersion.objects.using(using).filter(number=1).count() == len(DOCUMENTS):
        return
    for kind, version, title, body in DOCUMENTS:
        ConsentVersion.objects.using(using).get_or_create(
            kind=kind,
            number=1,
            defaults={"version": version, "title": title, "body": body, "change": "material",
                      "published_at": FIRST_PUBLISHED_AT},
        )  # fmt: skip
