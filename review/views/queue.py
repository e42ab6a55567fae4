"""The review queue: submitted intakes awaiting a decision, most urgent first."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.timesince import TIME_STRINGS, timesince
from django.utils.translation import get_language, gettext, ngettext

from clinic.access import SignedInRequest, role_required
from clinic.local_time import format_in_zone
from clinic.roles import Role
from intake.instruments import UnknownInstrumentError, load_instrument
from intake.selectors import LatestRisk, latest_risks
from review.forms import QUEUE_FILTER_NAMES, QueueFilterForm, reasons_for_care
from review.presenters import RiskView, humanise, risk_view
from review.selectors import (
    QUEUE_PAGE_SIZE,
    QueueFilters,
    first_queue_page,
    queue_page,
    queue_size,
    review_navigation,
    zone_of,
)
from review.views.common import age_in_years


@role_required(Role.CLINICIAN)
def queue(request: SignedInRequest) -> HttpResponse:
    """The clinician's home: submitted intakes awaiting a decision, most urgent first."""
    # The form is built only when a filter was asked for: the plain queue (the common case) needs only its markup.
    form = QueueFilterForm(request.GET) if any(name in request.GET for name in QUEUE_FILTER_NAMES) else None
    filters = QueueFilters(**form.cleaned_data) if form is not None and form.is_valid() else QueueFilters()
    filtered = any(filters.__dict__.values())
    navigation = review_navigation(request)
    # The whole queue's first page, the common case, comes with its risks and the navigation's counts in one
    # prepared statement (a first page starts at the first entry, whatever the queue's size).
    asked = request.GET.get("page")
    first = None if filtered or asked not in (None, "", "1") else first_queue_page(request.user)
    if first is not None:
        navigation.counted(first.navigation_counts)
    # The whole queue's size is the navigation's badge (read once, from the kept counts); a filtered one is counted.
    size = navigation.queue_count if not filtered else queue_size(request.user, filters)
    page = Paginator(range(size), QUEUE_PAGE_SIZE).get_page(asked)
    if first is not None:
        entries, risks = first.rows, first.risks
    else:
        entries = queue_page(request.user, filters, offset=page.start_index() - 1 if size else 0)
        risks = latest_risks(entry.patient_id for entry in entries)
    now = timezone.now()
    today = timezone.localdate(now)
    words = _row_words()
    # How long each has waited is the rows' one part that moves with the clock: worked out on every request.
    waits = [timesince(entry.submitted_at, now, time_strings=words["time_strings"]) for entry in entries]
    page_risks = [risks.get(entry.patient_id) for entry in entries]
    # The rows' markup is kept (the "fragments" cache, in this process) under a digest of everything it is made
    # from: the rows read (patient, submission, location and alert values), their current risks, the waits, today
    # (the ages), the default zone and the language. A new submission, alert, decision or rescreen changes the
    # rows read, so another key; the markup holds nothing of the clinician who asked (no name, token or nonce),
    # and is only ever found by someone whose own read returned the same rows.
    rows_key = hashlib.sha256(
        repr((get_language(), settings.TIME_ZONE, today, entries, page_risks, waits)).encode()
    ).hexdigest()

    def made_rows() -> list[QueueRow]:
        reasons = dict(reasons_for_care())
        return [
            _queue_row(entry, reasons, risk, words, waiting=waiting, today=today)
            for entry, risk, waiting in zip(entries, page_risks, waits, strict=True)
        ]

    query = request.GET.copy()
    query.pop("page", None)
    errors = form is not None and bool(form.errors)
    shown: Any = form
    if not errors:
        # Valid or no filters: the form shows what was asked for (cleaned values are the choices' own keys). Its
        # markup is kept per filters (queue.html), so the form is built only when that markup is made.
        chosen = {name: value for name, value in filters.__dict__.items() if value}
        shown = SimpleLazyObject(lambda: _shown_form(chosen))
    return render(
        request,
        "review/queue.html",
        {
            "form": shown,
            "form_errors": errors,
            "chosen_filters": [filters.reason, filters.modality, filters.finding],
            "page": page,
            "rows": SimpleLazyObject(made_rows),  # built only when the kept markup is missing
            "rows_key": rows_key,
            "has_rows": bool(entries),
            "filtered": filtered,
            "query": query.urlencode(),
        },
    )


def _shown_form(chosen: dict[str, str]) -> QueueFilterForm:
    form = QueueFilterForm(chosen)
    form.is_valid()
    return form


@dataclass
class QueueRow:
    patient_id: int
    name: str
    about: list[str]
    badges: list[tuple[str, str]]
    reasons: str
    phq9: str
    risk: RiskView | None  # the current risk from any source, never the intake's alone


def _row_words() -> dict[str, Any]:
    """The rows' words, translated once a page rather than once a row (a gettext() costs about as much as a row's
    markup); the risk words are added as rows meet them (``presenters.risk_view``)."""
    return {
        "risk_texts": {},
        "hard_stop": gettext("Hard stop: %(finding)s"),
        "alert_since": gettext("Urgent alert open since %(since)s"),
        "age": gettext("%(age)s years"),
        "no_location": gettext("No location yet"),
        "submitted": gettext("submitted %(submitted)s, waiting %(waiting)s"),
        "time_strings": {name: _Counted(words) for name, words in TIME_STRINGS.items()},
    }


class _Counted:
    """One of timesince's units ("%(num)d day" / "%(num)d days") for a page: each count translated once (the rows'
    waits repeat the same few counts), where the lazy original is translated again at every use."""

    def __init__(self, words: Any) -> None:
        self.words = words
        self.made: dict[Any, str] = {}

    def __mod__(self, values: dict[str, Any]) -> str:
        count = values["num"]
        if count not in self.made:
            self.made[count] = self.words % values
        return self.made[count]


def _queue_row(
    entry: Any,
    reasons: dict[str, str],
    risk: LatestRisk | None,
    words: dict[str, Any],
    *,
    waiting: str,
    today: date,
) -> QueueRow:
    zone = zone_of(entry.time_zone)
    findings = [f for f in entry.findings or [] if isinstance(f, dict)]
    age = age_in_years(entry.date_of_birth, today)
    badges = [
        ("badge-risk-high", words["hard_stop"] % {"finding": f.get("label")})
        for f in findings
        if f.get("severity") == "hard_stop"
    ]
    if entry.open_alert_at:
        since = format_in_zone(entry.open_alert_at, zone, year=False)
        badges.insert(0, ("badge-risk-high", words["alert_since"] % {"since": since}))
    to_review = sum(1 for f in findings if f.get("severity") == "review")
    if to_review:
        badges.append(
            (
                "badge-risk-moderate",
                ngettext("%(count)s finding to review", "%(count)s findings to review", to_review)
                % {"count": to_review},
            )
        )
    return QueueRow(
        patient_id=entry.patient_id,
        name=f"{entry.first_name} {entry.last_name}",
        about=[
            *([words["age"] % {"age": age}] if age is not None else []),
            entry.location_name or words["no_location"],
            words["submitted"]
            % {
                "submitted": format_in_zone(entry.submitted_at, zone),
                "waiting": waiting,
            },
        ],
        badges=badges,
        reasons=", ".join(reasons.get(code, code) for code in _codes(entry.reasons)) or "—",
        phq9=_phq9_words(entry.phq9, entry.phq9_version),
        risk=risk_view(risk, zone, texts=words["risk_texts"]),
    )


def _codes(value: Any) -> list[str]:
    return [str(code) for code in value] if isinstance(value, list) else []


def _phq9_words(phq9: Any, version: str | None) -> str:
    if not isinstance(phq9, dict) or phq9.get("total") is None:
        return "—"
    band = _band_words("phq9", version, phq9.get("band"))
    try:
        definition = load_instrument("phq9", version)
    except UnknownInstrumentError:
        definition = load_instrument("phq9")
    highest = definition.total_range[1] if definition.total_range else "?"
    words = f"{phq9['total']} of {highest}" + (f", {band.lower()}" if band else "")
    return words + ("; item 9 positive" if phq9.get("item9_flag") else "")


def _band_words(code: str, version: str | None, band: Any) -> str:
    if not band:
        return ""
    try:
        return load_instrument(code, version).band_label(band)
    except (UnknownInstrumentError, KeyError):
        return humanise(str(band))
