"""The demo clinic loaded by `manage.py seed_demo` (and so by `make run`). Plain data. All names are invented."""

DEMO_PASSWORD = "calm-harbor-2026"  # noqa: S105 (a published demo password, for the demo data only)

LOCATION = {
    "name": "Harbor Clinic, Cambridge",
    "time_zone": "America/New_York",
    "address": "120 Harbor Street, Cambridge, MA 02139",
    "phone": "+16175550100",
}
# Local wall-clock opening hours: weekday (0 = Monday) -> (opens, closes).
OPENING_HOURS = {0: ("08:00", "18:00"), 1: ("08:00", "18:00"), 2: ("08:00", "18:00"), 3: ("08:00", "18:00"),
                 4: ("08:00", "18:00"), 5: ("09:00", "13:00")}  # fmt: skip
CHAIRS = [f"Chair {n}" for n in range(1, 7)]
ROOMS = ["Consultation room"]

CLINICIANS = [
    # email, full name, credentials, on call, working hours {weekday: (starts, ends)}
    ("maya.okafor@example.org", "Maya Okafor", "MD", True, {d: ("08:00", "16:00") for d in range(0, 5)}),
    ("sam.reyes@example.org", "Sam Reyes", "NP", False, {d: ("10:00", "18:00") for d in range(0, 5)}),
    ("jordan.lee@example.org", "Jordan Lee", "RN", False, {**{d: ("08:00", "14:00") for d in (1, 3)}, 5: ("09:00", "13:00")}),
]  # fmt: skip
FRONT_DESK = [("front.desk@example.org", "Priya Natarajan"), ("reception@example.org", "Tom Alvarez")]
ADMINS = [("admin@example.org", "Helen Brooks")]

# legal first name, last name, date of birth; the first two can sign in to the patient portal.
PATIENTS = [
    ("Alex", "Morgan", "1986-04-12"), ("Bea", "Lindqvist", "1979-11-03"), ("Carlos", "Mendes", "1992-07-21"),
    ("Dana", "Whitfield", "1968-02-28"), ("Eli", "Okonkwo", "1990-09-09"), ("Fatima", "Haddad", "1983-05-30"),
    ("Gus", "Petrov", "1975-12-14"), ("Hana", "Sato", "1997-03-17"), ("Ivan", "Kowalski", "1961-08-05"),
    ("June", "Abernathy", "1988-10-22"), ("Kofi", "Mensah", "1994-01-11"), ("Lena", "Fischer", "1972-06-19"),
    ("Marco", "Bianchi", "1981-04-02"), ("Nia", "Thompson", "1999-12-25"), ("Omar", "Rahman", "1977-07-07"),
    ("Pia", "Jensen", "1985-02-14"), ("Quinn", "Doyle", "1993-08-30"), ("Rosa", "Delgado", "1969-03-09"),
    ("Sven", "Nilsson", "1980-11-18"), ("Tara", "Gupta", "1991-05-05"),
]  # fmt: skip
PATIENT_LOGIN_COUNT = 2


def patient_email(first: str, last: str) -> str:
    return f"{first}.{last}@example.org".lower()


def demo_logins() -> list[tuple[str, str]]:
    logins = [("clinic admin", email) for email, _ in ADMINS]
    logins += [("front desk", email) for email, _ in FRONT_DESK]
    logins += [("clinician", email) for email, *_ in CLINICIANS]
    logins += [("patient", patient_email(first, last)) for first, last, _ in PATIENTS[:PATIENT_LOGIN_COUNT]]
    return logins
