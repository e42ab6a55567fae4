"""One settings file for every environment, driven by environment variables (see the README's table).

With DEBUG off (the default) every default is the production-safe one; development turns DEBUG on.
"""

import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import xstatic.pkg.bootstrap
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value: use 1 or 0.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name, "").strip() or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not value.is_finite() or value <= 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must be a number above 0.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set SECRET_KEY to a long random string (or DEBUG=1 for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only-not-for-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "clinic",
    "intake",
    "scheduling",
    "review",
    "portal",  # the patient's home page, which reads every app
    "demo",  # `manage.py seed_demo`: above every app, since it writes through all of them
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Right after WhiteNoise: every response the app itself makes is marked not to be stored.
    "clinic.security.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the language cookie or the browser's Accept-Language, among LANGUAGES; URLs carry none.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, so that requests refused by it are counted too.
    "clinic.throttle.RateLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinic.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "clinic.security.StaffSessionMiddleware",
    "clinic.mfa.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the body (the CSRF check and the views read it in the view stage), after CSP and the
    # security headers, so the 413 page carries them.
    "clinic.request_size.RequestBodyLimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
                "clinic.context_processors.csrf",
                # Each app's own part of every page (clinic imports none of them).
                "review.context_processors.review",
            ],
        },
    },
]

# --- Database: PostgreSQL only -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: set it to postgres://USER@HOST:5432/NAME, "
        "or use `make run` / `make test`, which start an embedded PostgreSQL."
    )
if urlsplit(DATABASE_URL).scheme not in {"postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL: PostgreSQL is the only database.")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The role that owns the tables, for `manage.py migrate` and `manage.py setup_db_roles` only (README, "Production"):
# the app connects with DATABASE_URL as a role that owns nothing, so it cannot alter, disable or empty the audit
# trail. Unset, those commands use DATABASE_URL too (one role, as in development).
MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL", "")
DATABASE_OWNER: dict[str, str | int] = {}
if MIGRATION_DATABASE_URL:
    _owner = dj_database_url.parse(MIGRATION_DATABASE_URL)
    # Only the credentials and the server are taken from it: the database stays DATABASE_URL's, so a test run
    # (which renames the database) can never migrate the real one.
    if _owner["NAME"] != DATABASES["default"]["NAME"]:
        raise ImproperlyConfigured(
            "MIGRATION_DATABASE_URL must name the same database as DATABASE_URL, with the owner's user."
        )
    DATABASE_OWNER = {key: _owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}

# --- Redis: cache, Celery broker and results -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set: set it to redis://HOST:6379/0, "
        "or use `make run` / `make test`, which start an embedded Redis."
    )


def celery_redis_url(redis_url: str) -> str:
    """Kombu spells a Redis unix socket `redis+socket://`; redis-py and Django spell it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CACHES = {
    "default": {
        "BACKEND": "clinic.redis_cache.KeptClientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "clinic"),
    },
    # Markup kept per process, so a deploy starts it afresh: a form's choices (they change only with the code), and
    # review markup kept under a digest of every value it is made from (docs/review.md), never anything of the
    # person who asked (no session, CSRF token or nonce).
    "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}

CELERY_BROKER_URL = celery_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_redis_url(REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
# Reliability rules of the engineering guide (section 3): a task is acknowledged only after it ran, is requeued if
# its worker dies, and a worker holds one task at a time, so a crash loses at most the one in hand (and the outbox
# rows make even that one recoverable).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict = {}

# --- Users, roles, passwords ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "clinic.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out account is refused before its password is even checked.
    "clinic.security.LockoutBackend",
    # Django's ModelBackend, reading the user's role groups in the same query.
    "clinic.security.ClinicModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "clinic.security.RoleMinimumLengthValidator",
        "OPTIONS": {"patient_min_length": 10, "staff_min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24)

# Lockout after repeated failed sign-ins (django-axes): per account and address, so one attacker cannot lock a
# whole clinic out from behind the same router.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "clinic.security.axes_username"
AXES_CLIENT_IP_CALLABLE = "clinic.audit.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Staff sign in with a second factor (TOTP app, with recovery codes); patients may turn it on.
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", True)
OTP_TOTP_ISSUER = os.environ.get("CLINIC_NAME", "Harbor Ketamine Clinic")

# Staff sessions end after idle minutes (with a warning shortly before) and after an absolute limit.
STAFF_SESSION_IDLE_MINUTES = env_int("STAFF_SESSION_IDLE_MINUTES", 15)
STAFF_SESSION_MAX_HOURS = env_int("STAFF_SESSION_MAX_HOURS", 12)
# Rate limits (clinic/throttle.py): at most PUBLIC_RATE_LIMIT requests to one scope from one address in any
# PUBLIC_RATE_LIMIT_WINDOW_SECONDS (a sliding window in Redis; IPv6 counted per /64). Sized for a clinic behind one
# NAT: 20-30 staff signing in at the start of a shift send 50-90 POSTs (password, then the two-step code, a few
# typos) within minutes, and patients on the waiting-room Wi-Fi add some; 100 in 10 minutes leaves room for that,
# while one address gets at most 600 guesses an hour, each account locking after AXES_FAILURE_LIMIT of them.
PUBLIC_RATE_LIMIT = env_int("PUBLIC_RATE_LIMIT", 100)
PUBLIC_RATE_LIMIT_WINDOW_SECONDS = env_int("PUBLIC_RATE_LIMIT_WINDOW_SECONDS", 600)
if os.environ.get("PUBLIC_RATE_LIMIT_PER_HOUR"):
    raise ImproperlyConfigured(
        "PUBLIC_RATE_LIMIT_PER_HOUR is no longer read: set PUBLIC_RATE_LIMIT (requests) and "
        "PUBLIC_RATE_LIMIT_WINDOW_SECONDS (the sliding window) instead."
    )
# Every form that takes a password, a two-step code or a secret token, and the other public pages: view name ->
# (scope, methods counted). Forms that guard the same thing share a scope, so alternating between them (the app's
# sign-in and the admin's) does not double the budget. tests/clinic/test_throttle.py fails on a page with a
# password field that is missing here.
RATE_LIMITED_VIEWS = {
    "login": ("sign_in", ("POST",)),
    "admin:login": ("sign_in", ("POST",)),
    "mfa_verify": ("two_step", ("POST",)),
    "mfa_setup": ("two_step", ("POST",)),
    "password_reset": ("password_reset", ("POST",)),
    "password_reset_confirm": ("set_password", ("GET", "POST")),
    "password_change": ("set_password", ("POST",)),
    "admin:password_change": ("set_password", ("POST",)),
    "intake:accept_invitation": ("invitation", ("GET", "POST")),
    "intake:register": ("register", ("POST",)),
    "reminder_links:link": ("reminder_link", ("GET", "POST")),
}
# How many proxies in front of the app append to X-Forwarded-For (clinic.audit.client_ip): 0 when clients reach the
# app directly (the header is then ignored, since anyone can write it); 1 behind the nginx example in deploy/.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} must be 0 or more.")

# Request bodies: at most this many bytes, refused with 413 before they are read (clinic/request_size.py). The
# app takes no file uploads; its largest forms (an intake step with every row filled, an admin action on a full
# page of rows) are a few kilobytes, so 1 MiB is ample. Keep the proxy's limit (deploy/nginx.conf) the same.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# Within the cap an upload fits in memory: nothing a request sends is ever written to a temporary file.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

# --- Time: store UTC, show the clinic's zone -----------------------------------------------------------------
USE_TZ = True
TIME_ZONE = os.environ.get("CLINIC_TIME_ZONE", "America/New_York")
LANGUAGE_CODE = "en-us"
# US date and time formats for templates (clinic/formats/en), the same house style as clinic/local_time.py.
FORMAT_MODULE_PATH = ["clinic.formats"]
# Every user-facing string is marked for translation; the catalogs live in locale/ (docs/translation.md). A
# language without a translation of a string shows the English.
USE_I18N = True
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files: from packages, served by whitenoise (no CDN) ----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static", ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email -----------------------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Ketamine Clinic <no-reply@clinic.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security: production-safe unless DEBUG ------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP inside the network
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy (django-csp): no inline script or style anywhere; scripts carry a per-request nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_ENGINE = "clinic.sessions"

# --- The clinic ------------------------------------------------------------------------------------------------
CLINIC_NAME = os.environ.get("CLINIC_NAME", "Harbor Ketamine Clinic")
# The brand color and logo: first-run defaults, changed on the Clinic settings page (clinic/policies.py).
CLINIC_COLOR = os.environ.get("CLINIC_COLOR", "#2f6f6a")
CLINIC_LOGO = ""
# The crisis block's text (templates/clinic/_crisis.html): on the C-SSRS step and the re-screen, and at once to a
# patient whose answers show high suicide risk (clinical reference 1.6).
CLINIC_CRISIS_TEXT = os.environ.get(
    "CLINIC_CRISIS_TEXT",
    "If you are thinking about suicide or may harm yourself, call or text 988 (Suicide & Crisis Lifeline) now, "
    "or call 911 or go to the nearest emergency department.",
)

# Links in emails and SMS sent by workers, which have no request to build them from.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The crisis block's tap-to-call and tap-to-text links: the crisis line (call and text) and the emergency number.
CLINIC_EMERGENCY_NUMBER = os.environ.get("CLINIC_EMERGENCY_NUMBER", "911")
CLINIC_CRISIS_LINE = os.environ.get("CLINIC_CRISIS_LINE", "988")

# What a patient's "download my data" contains: one section per app, each a function patient -> (title, data).
PATIENT_EXPORT_SECTIONS = [
    "intake.export.details_section",
    "intake.export.intake_section",
    "intake.export.consent_section",
    "intake.export.sms_consent_section",
    "intake.export.alerts_section",
    "intake.export.decisions_section",
    "review.export.ratings_section",
    "scheduling.selectors.export_section",
    "scheduling.selectors.requests_export_section",
]

# --- Scheduling (clinic policy) -----------------------------------------------------------------------------------
# A cancellation this many hours or fewer before the session is marked late and front desk is told.
SCHEDULING_LATE_CANCEL_HOURS = env_int("SCHEDULING_LATE_CANCEL_HOURS", 24)
# Patients cleared for treatment may book their own sessions from the free times availability offers.
SCHEDULING_PATIENT_SELF_BOOKING = env_bool("SCHEDULING_PATIENT_SELF_BOOKING", False)
# IV ketamine dose checks, before the dose is given (clinical reference 3.1): the planned dose starts at the
# standard 0.5 mg/kg; above 0.75 mg/kg (the top of the studied range) the plan carries a warning; above 1.0 mg/kg a
# second clinician must co-sign it before dosing starts. The monitoring and vital-sign rules are on each treatment
# type (the admin's treatment types), not here.
SESSION_IV_DOSE_DEFAULT_MG_PER_KG = env_decimal("SESSION_IV_DOSE_DEFAULT_MG_PER_KG", "0.5")
SESSION_IV_DOSE_WARN_ABOVE_MG_PER_KG = env_decimal("SESSION_IV_DOSE_WARN_ABOVE_MG_PER_KG", "0.75")
SESSION_IV_DOSE_COSIGN_ABOVE_MG_PER_KG = env_decimal("SESSION_IV_DOSE_COSIGN_ABOVE_MG_PER_KG", "1.0")
# The fewest local calendar days from one Spravato session to the patient's next dosing session (2: Monday then
# Wednesday at the earliest). The starting value of a new Spravato treatment type; each type keeps its own.
SCHEDULING_SPRAVATO_MIN_DAYS_APART = env_int("SCHEDULING_SPRAVATO_MIN_DAYS_APART", 2)
# How far ahead a session may be booked, in days from today (a start beyond it is refused with a message).
SCHEDULING_BOOKING_HORIZON_DAYS = env_int("SCHEDULING_BOOKING_HORIZON_DAYS", 400)

# --- Reminders (clinic policy) ------------------------------------------------------------------------------------
# Before each appointment, besides the confirmation at booking. Whole days are calendar days at the same local time.
REMINDER_OFFSETS = env_list("REMINDER_OFFSETS", "72h,24h,2h")
REMINDER_QUIET_HOURS = os.environ.get("REMINDER_QUIET_HOURS", "21:00-08:00")  # no SMS inside, local time
# Off: reminders go by email only (a clinic without an SMS provider); a patient who chose text gets email instead.
REMINDER_SMS = env_bool("REMINDER_SMS", True)
SMS_BACKEND = os.environ.get("SMS_BACKEND", "scheduling.sms.FileSmsBackend")
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(BASE_DIR / ".data" / "sms.jsonl"))
# Seconds the SMS provider may take to answer; after the request left, no answer is an unknown outcome (no retry).
SMS_TIMEOUT = env_int("SMS_TIMEOUT", 10)
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
# Delivery (the outbox, engineering guide 3): attempts before a reminder is "failed" and shown to front desk;
# how long a claimed reminder may stay "sending" before the reaper takes it back; the first retry's delay (doubling
# after each failure, at most an hour).
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", 5)
REMINDER_STUCK_SECONDS = env_int("REMINDER_STUCK_SECONDS", 600)
REMINDER_RETRY_BASE_SECONDS = env_int("REMINDER_RETRY_BASE_SECONDS", 60)
# The beat schedule, all of it (UTC), every entry expiring before its next run. Reminders: claim the due ones every
# minute (far-future work is never an eta/countdown). Urgent alerts: re-send lost notifications, escalate overdue ones.
CELERY_BEAT_SCHEDULE["scheduling-sweep-reminders"] = {
    "task": "scheduling.tasks.sweep_reminders",
    "schedule": 60.0,
    "options": {"expires": 55},
}
CELERY_BEAT_SCHEDULE["review-sweep-urgent-alerts"] = {
    "task": "review.tasks.sweep_urgent_alerts",
    "schedule": 60.0,
    "options": {"expires": 55},
}

# --- Clinician review (clinic policy) ---------------------------------------------------------------------------
# Staff see only their own locations (scheduling.access): clinicians the locations they work at, front desk the ones
# they are assigned to, in review and scheduling alike; clinic admins see all. Patients with no location stay visible
# to clinicians, so no alert is ever missed. The name is older than the rule, which once covered review only.
REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = env_bool("REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS", False)
# How long a clinician's emergency access to a patient of another location ("break the glass") lasts.
BREAK_GLASS_HOURS = env_int("BREAK_GLASS_HOURS", 12)
# An urgent alert nobody has acknowledged after this long is escalated to the clinic admins (once).
REVIEW_ALERT_ESCALATION_MINUTES = env_int("REVIEW_ALERT_ESCALATION_MINUTES", 15)
# Measurement-based care (clinical reference 4.3): response is this fraction drop from baseline; remission below /
# at most these totals. MADRS remission is <= 12 in the esketamine programme; some ketamine trials use <= 10.
REVIEW_RESPONSE_DROP = os.environ.get("REVIEW_RESPONSE_DROP", "0.5")
REVIEW_PHQ9_REMISSION_BELOW = env_int("REVIEW_PHQ9_REMISSION_BELOW", 5)
REVIEW_MADRS_REMISSION_AT_MOST = env_int("REVIEW_MADRS_REMISSION_AT_MOST", 12)

# --- Intake (clinic policy; defaults from the clinical reference) --------------------------------------------
INTAKE_SELF_REGISTRATION = env_bool("INTAKE_SELF_REGISTRATION", False)
INTAKE_INVITATION_DAYS = env_int("INTAKE_INVITATION_DAYS", 7)
INTAKE_PHONE_REGION = os.environ.get("INTAKE_PHONE_REGION", "US")
# Which questionnaire joins the baseline (PHQ-9, GAD-7, C-SSRS) for which reason for care.
INTAKE_INSTRUMENTS_BY_REASON = {"pcl5": ("ptsd",), "ocir": ("ocd",)}
# PCL-5 "probable PTSD" cut-off: the VA gives 31-33 depending on the population (clinical reference 1.3).
INTAKE_PCL5_PROBABLE_CUTOFF = env_int("INTAKE_PCL5_PROBABLE_CUTOFF", 33)
INTAKE_OCIR_OCD_CUTOFF = env_int("INTAKE_OCIR_OCD_CUTOFF", 21)
# Benzodiazepine dose above which ketamine's effect may be blunted (Andrashko 2020, mg/day diazepam-equivalent).
INTAKE_BENZODIAZEPINE_BLUNTING_MG = env_int("INTAKE_BENZODIAZEPINE_BLUNTING_MG", 8)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
