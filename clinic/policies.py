"""Clinic policy the clinic admin changes in the app, without a redeploy or a restart.

Each policy is named by the setting it replaces (clinic/settings.py): the environment variable is its first-run
default, and a value saved on the settings page (``ClinicPolicy`` rows) overrides it. ``value(key)`` is what code
reads. The saved values are cached in Redis, which every web and worker process shares, and the cached copy is
deleted when a change commits: the next read in any process sees the change.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clinic.errors import Refused
from clinic.models import AuditEvent, ClinicPolicy, User

logger = logging.getLogger(__name__)


class PolicyRefused(Refused):
    pass


@dataclass(frozen=True)
class Policy:
    key: str
    label: str
    help: str
    kind: str  # "text", "long_text", "int", "bool", "offsets", "quiet_hours", "color", "image"
    minimum: int | None = None
    maximum: int | None = None

    @property
    def shown_label(self) -> str:
        """The label in the request's language (the table holds the English, marked with gettext_noop)."""
        return _(self.label)

    @property
    def shown_help(self) -> str:
        return _(self.help) if self.help else ""  # gettext("") is the catalog's header, not ""

    def default(self) -> Any:
        if self.kind == "color":
            return _default_color(str(getattr(settings, self.key)), self)
        return getattr(settings, self.key)

    def parse(self, raw: Any) -> Any:
        """The value to store, from what the form posted; refuses anything the code reading it could not use."""
        if self.kind == "bool":
            return bool(raw)
        if self.kind == "image":
            return _parse_logo(raw, self)
        text = str(raw if raw is not None else "").strip()
        if self.kind in ("text", "long_text"):
            if not text:
                raise PolicyRefused(
                    _("%(self)s cannot be empty.") % {"self": self.shown_label}, field=self.key
                )
            return text
        if self.kind == "int":
            if not re.fullmatch(r"-?\d{1,6}", text):
                raise PolicyRefused(
                    _("%(self)s: enter a whole number.") % {"self": self.shown_label}, field=self.key
                )
            number = int(text)
            if (self.minimum is not None and number < self.minimum) or (
                self.maximum is not None and number > self.maximum
            ):
                raise PolicyRefused(
                    _("%(self)s: from %(minimum)s to %(maximum)s.")
                    % {"self": self.shown_label, "minimum": self.minimum, "maximum": self.maximum},
                    field=self.key,
                )
            return number
        if self.kind == "offsets":
            parts = [part.strip().lower() for part in text.split(",") if part.strip()]
            if not parts or not all(re.fullmatch(r"\d{1,3}[hm]", part) for part in parts):
                raise PolicyRefused(
                    _(
                        "%(self)s: hours or minutes before the session, separated by commas, such as 72h, 24h, 2h."
                    )
                    % {"self": self.shown_label},
                    field=self.key,
                )
            if len(set(parts)) != len(parts):
                raise PolicyRefused(
                    _("%(self)s: each time once.") % {"self": self.shown_label}, field=self.key
                )
            return parts
        if self.kind == "quiet_hours":
            match = re.fullmatch(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})", text)
            try:
                starts, ends = (
                    (time.fromisoformat(part.zfill(5)) for part in match.groups()) if match else (None, None)
                )
            except ValueError:  # 25:00, 08:61
                starts = ends = None
            if starts is None or ends is None:
                raise PolicyRefused(
                    _("%(self)s: two 24-hour times, such as 21:00-08:00.") % {"self": self.shown_label},
                    field=self.key,
                )
            return f"{starts:%H:%M}-{ends:%H:%M}"
        if self.kind == "color":
            return _parse_color(text, self)
        raise ValueError(f"unknown policy kind {self.kind!r}")

    def as_text(self, value: Any) -> str:
        """The value as the settings form shows it."""
        if self.kind == "offsets":
            return ", ".join(value)
        if self.kind == "image":
            return f"an image ({len(value) * 3 // 4 // 1024 + 1} KB)" if value else "none"
        return "" if value is None else str(value)


# The page background (static/css/clinic.css, --clinic-paper): the brand color is text on it (links, outlines) and
# the fill under white text (buttons), so it must reach WCAG's 4.5:1 against both.
PAPER, WHITE = "#f7f4ee", "#ffffff"
MIN_CONTRAST = 4.5
LOGO_MAX_BYTES = 64 * 1024
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two #rrggbb colors."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _parse_color(text: str, policy: Policy) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", text):
        raise PolicyRefused(
            _("%(policy)s: a hex color such as #2f6f6a.") % {"policy": policy.shown_label}, field=policy.key
        )
    color = text.lower()
    if min(contrast(color, WHITE), contrast(color, PAPER)) < MIN_CONTRAST:
        raise PolicyRefused(
            _(
                "%(policy)s: too light to read. Text and buttons in it need a contrast of at least 4.5 to 1 with "
                "the page: choose a darker shade."
            )
            % {"policy": policy.shown_label},
            field=policy.key,
        )
    return color


# What the page uses when the environment's CLINIC_COLOR is unusable (it goes into the theme style sheet).
BUILT_IN_COLOR = "#2f6f6a"


@functools.cache
def _default_color(text: str, policy: Policy) -> str:
    """The environment's color, checked like one typed on the settings page; the built-in one if unusable (warned
    once per process)."""
    try:
        return _parse_color(text.strip(), policy)
    except PolicyRefused as refused:
        logger.warning("%s=%r is not used: %s Using %s.", policy.key, text, refused.message, BUILT_IN_COLOR)
        return BUILT_IN_COLOR


def _parse_logo(raw: Any, policy: Policy) -> str:
    """An uploaded PNG or JPEG (bytes), stored as a data address; "" for no logo. SVG is refused: it can carry
    scripts."""
    if not raw:
        return ""
    data = bytes(raw)
    kind = next((kind for magic, kind in LOGO_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise PolicyRefused(
            _("%(policy)s: a PNG or JPEG image.") % {"policy": policy.shown_label}, field=policy.key
        )
    if len(data) > LOGO_MAX_BYTES:
        raise PolicyRefused(
            _("%(policy)s: at most %(size)d KB.")
            % {"policy": policy.shown_label, "size": LOGO_MAX_BYTES // 1024},
            field=policy.key,
        )
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def logo_file(data_address: str) -> tuple[str, bytes] | None:
    """The saved logo as (content type, bytes), or None."""
    match = re.fullmatch(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)", data_address or "")
    return (match.group(1), base64.b64decode(match.group(2))) if match else None


def darker(color: str, by: float = 0.25) -> str:
    """The brand color's hover and link shade."""
    return "#" + "".join(f"{round(int(color[i : i + 2], 16) * (1 - by)):02x}" for i in (1, 3, 5))


def theme_version(color: str, logo: str) -> str:
    """Names the theme in its addresses, so a browser fetches it again after a change and caches it otherwise."""
    return hashlib.sha256(f"{color}|{logo}".encode()).hexdigest()[:12]


POLICIES: tuple[Policy, ...] = (
    Policy(
        "CLINIC_NAME",
        gettext_noop("Clinic name"),
        gettext_noop("In every email, text message and page title."),
        "text",
    ),
    Policy(
        "CLINIC_COLOR",
        gettext_noop("Brand color"),
        gettext_noop(
            "A hex color such as #2f6f6a, for buttons, links and the page header. It must be dark enough to read."
        ),
        "color",
    ),
    Policy(
        "CLINIC_LOGO",
        gettext_noop("Logo"),
        gettext_noop(
            "A PNG or JPEG of at most 64 KB, shown next to the clinic name. Leave empty to keep the one in use."
        ),
        "image",
    ),
    Policy(
        "CLINIC_CRISIS_TEXT",
        gettext_noop("Crisis message"),
        gettext_noop(
            "Shown at once to a patient whose answers show high suicide risk, and in crisis emails."
        ),
        "long_text",
    ),
    Policy(
        "REMINDER_OFFSETS",
        gettext_noop("Reminders before each session"),
        gettext_noop(
            "Hours (h) or minutes (m) before the start, such as 72h, 24h, 2h. Applies to bookings made or moved "
            "from now on."
        ),
        "offsets",
    ),
    Policy(
        "REMINDER_SMS",
        gettext_noop("Send reminders by text message too"),
        gettext_noop(
            "Off: every reminder goes by email, also to patients who chose text messages. Applies to bookings made "
            "or moved from now on."
        ),
        "bool",
    ),
    Policy(
        "REMINDER_QUIET_HOURS",
        gettext_noop("No text messages between"),
        gettext_noop(
            "Local time at the session's location, such as 21:00-08:00; a text due then waits until it ends."
        ),
        "quiet_hours",
    ),
    Policy(
        "SCHEDULING_LATE_CANCEL_HOURS",
        gettext_noop("Late-cancellation window (hours)"),
        gettext_noop("A cancellation this many hours or fewer before the session is marked late."),
        "int",
        minimum=0,
        maximum=168,
    ),
    Policy(
        "SCHEDULING_PATIENT_SELF_BOOKING",
        gettext_noop("Patients cleared for treatment may book their own sessions"),
        "",
        "bool",
    ),
    Policy(
        "INTAKE_SELF_REGISTRATION",
        gettext_noop("People may register online without an invitation"),
        "",
        "bool",
    ),
    Policy(
        "REVIEW_ALERT_ESCALATION_MINUTES",
        gettext_noop("Escalate an unacknowledged urgent alert after (minutes)"),
        gettext_noop(
            "The clinic admins are emailed when no clinician has acknowledged an urgent alert by then."
        ),
        "int",
        minimum=1,
        maximum=240,
    ),
    # Screening cut-offs that are clinic policy (clinical reference 1.3, 1.4): the instrument's scores are exact,
    # where the clinic draws the line is its own choice within the published range.
    Policy(
        "INTAKE_PCL5_PROBABLE_CUTOFF",
        gettext_noop("PCL-5: probable PTSD from a total of"),
        gettext_noop(
            "The VA gives 31 to 33, depending on the population. Applies to intakes submitted from now on."
        ),
        "int",
        minimum=31,
        maximum=33,
    ),
    Policy(
        "INTAKE_OCIR_OCD_CUTOFF",
        gettext_noop("OCI-R: suggests OCD from a total of"),
        gettext_noop(
            "21 in the instrument's validation (Foa et al. 2002). Applies to intakes submitted from now on."
        ),
        "int",
        minimum=1,
        maximum=72,
    ),
    Policy(
        "INTAKE_BENZODIAZEPINE_BLUNTING_MG",
        gettext_noop("Benzodiazepines may blunt ketamine above (mg a day, diazepam-equivalent)"),
        gettext_noop("A patient's daily benzodiazepine dose above this is flagged for the clinician."),
        "int",
        minimum=1,
        maximum=100,
    ),
)
POLICIES_BY_KEY = {policy.key: policy for policy in POLICIES}


def cache_key() -> str:
    """The saved values' key in the shared cache (clinic.sessions reads it with the session)."""
    # Per database: test runs in parallel, or two installs sharing one Redis, never read each other's policies.
    return f"clinic-policies:{connection.settings_dict['NAME']}"


def saved_values() -> dict[str, Any]:
    """The values saved in the app (not the defaults), from the shared cache or, once per change, the database."""
    values = cache.get(cache_key())
    if values is None:
        values = dict(ClinicPolicy.objects.values_list("key", "value"))
        cache.set(cache_key(), values, timeout=None)
    return values


def value(key: str) -> Any:
    """The policy in force: the value saved in the app, else the setting (the environment's first-run default)."""
    policy = POLICIES_BY_KEY[key]
    saved = saved_values()
    return saved[key] if key in saved else policy.default()


def in_force(request: HttpRequest | None = None) -> dict[str, Any]:
    """Every policy in force, from one read of the cache: for a page that shows several. With ``request``, read
    once for it: the page's view and its context processor share that read."""
    kept = getattr(request, "_clinic_policies", None)
    if kept is not None:
        return kept
    # Read with the session where the request has one (clinic.sessions): one round trip to Redis for both.
    saved = getattr(getattr(request, "session", None), "policies_read", None)
    if saved is None:
        saved = saved_values()
    values = {policy.key: saved.get(policy.key, policy.default()) for policy in POLICIES}
    if request is not None:
        request._clinic_policies = values  # type: ignore[attr-defined]
    return values


def forget_cached() -> None:
    cache.delete(cache_key())


@transaction.atomic
def change_policies(*, changes: dict[str, Any], by: User, now: datetime) -> list[str]:
    """Save the posted values that differ from those in force; returns the keys changed. Refuses (and saves
    nothing) if any value is unusable. Each row written is audited with before and after by the database."""
    parsed = {key: POLICIES_BY_KEY[key].parse(raw) for key, raw in changes.items() if key in POLICIES_BY_KEY}
    changed = []
    for key, new in parsed.items():
        if new == value(key):
            continue
        ClinicPolicy.objects.update_or_create(
            key=key, defaults={"value": new, "changed_at": now, "changed_by": by}
        )
        changed.append(key)
    if changed:
        # Now, for the rest of this transaction; and again at commit, for any process that read the old value
        # from the database (and cached it) before the commit.
        forget_cached()
        transaction.on_commit(forget_cached)
    return changed


@dataclass(frozen=True)
class PolicyChange:
    key: str
    label: str
    before: str
    after: str
    at: datetime
    by: str


def recent_changes(*, limit: int = 20) -> list[PolicyChange]:
    """The latest policy changes from the audit trail, newest first: who, when, before and after."""

    events = list(
        AuditEvent.objects.filter(table_name=ClinicPolicy._meta.db_table).order_by("-occurred_at", "-pk")[
            :limit
        ]
    )
    names = dict(
        User.objects.filter(pk__in={e.actor_id for e in events if e.actor_id}).values_list("pk", "full_name")
    )
    changes = []
    for event in events:
        new, old = event.new_data or {}, event.old_data or {}
        key = new.get("key") or old.get("key") or ""
        policy = POLICIES_BY_KEY.get(key)
        if policy is None:
            key = ClinicPolicy.objects.filter(pk=event.row_pk).values_list("key", flat=True).first() or ""
            policy = POLICIES_BY_KEY.get(key)
        if policy is None:
            continue
        before = (
            policy.as_text(old["value"])
            if "value" in old
            else f"{policy.as_text(policy.default())} (default)"
        )
        after = policy.as_text(new.get("value")) if "value" in new else "—"
        changes.append(
            PolicyChange(
                key, policy.shown_label, before, after, event.occurred_at, names.get(event.actor_id or 0, "—")
            )
        )
    return changes
