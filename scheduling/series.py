"""Treatment-series templates, and turning one into dated sessions.

Pure: no Django, no ORM, no clock. ``plan_series`` lays a template onto the calendar; ``propose_series``
checks each planned session against availability through callbacks the caller backs with
``scheduling.availability`` and replaces the ones that are taken. Booking the proposal is the services
layer's job (one transaction).

Time rules (engineering guide §4): a series is planned in the location's local wall-clock time and only then
converted to UTC, so a Mon/Wed/Fri 09:00 series stays at 09:00 local across a DST change (America/New_York:
14:00 UTC before 2027-03-14, 13:00 UTC after). A session time that does not exist on its date (spring-forward
gap) or exists twice (fall-back) is read as PEP 495 ``fold=0``, the same rule ``scheduling.availability`` uses
for window bounds.

How a template is laid out: the first session is on the first chosen weekday on or after ``start_date``.
Series week 1 is the seven days from that first session, week 2 the next seven, and so on. ``weekday_slot`` 0
is the first session's weekday and the other chosen weekdays follow in calendar order after it, so a
Mon/Wed/Fri series that starts on a Wednesday runs Wed, Fri, Mon, Wed, Fri, Mon.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo

__all__ = [
    "IV_INDUCTION",
    "MODALITY_OF",
    "SPRAVATO_INDUCTION",
    "TEMPLATES",
    "PlannedSession",
    "ProposedSession",
    "SeriesTemplate",
    "SessionRule",
    "check_series_weekdays",
    "plan_series",
    "propose_series",
]

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _check_min_days_between(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        # 0 would let two sessions of one series share a day, which no template here allows.
        raise ValueError(f"min_days_between must be a whole number of days, at least 1, got {days!r}")


def _names(weekdays: Sequence[int]) -> str:
    return ", ".join(_WEEKDAY_NAMES[weekday] for weekday in weekdays if 0 <= weekday <= 6) or "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRule:
    """One session of a template: its series week (1-based) and which of the chosen weekdays it falls on."""

    week: int
    weekday_slot: int
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesTemplate:
    """A course of treatment sessions, e.g. an IV ketamine or a Spravato induction.

    ``min_days_between`` is the fewest calendar days allowed between two sessions of the series (Mon -> Wed is
    2). It is clinic policy, not a label rule: change it with ``dataclasses.replace`` or per call.
    """

    code: str
    label: str
    modality: str
    sessions: tuple[SessionRule, ...]
    min_days_between: int
    source: str = ""

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ValueError(f"template {self.code!r} has no sessions")
        _check_min_days_between(self.min_days_between)
        keys = [(rule.week, rule.weekday_slot) for rule in self.sessions]
        if any(week < 1 or slot < 0 for week, slot in keys):
            raise ValueError(f"template {self.code!r}: weeks count from 1 and weekday slots from 0")
        if keys != sorted(set(keys)):
            raise ValueError(
                f"template {self.code!r}: sessions must be in calendar order, each (week, slot) once"
            )
        if self.weekdays_needed * self.min_days_between > 7:
            raise ValueError(
                f"template {self.code!r}: {self.weekdays_needed} weekdays cannot be "
                f"{self.min_days_between} days apart within a week"
            )

    @property
    def weekdays_needed(self) -> int:
        """How many weekdays the caller must choose (3 for Mon/Wed/Fri infusions, 2 for Spravato)."""
        return max(rule.weekday_slot for rule in self.sessions) + 1


# Murrough et al., Biol Psychiatry 2013;74(4):250-256: up to 6 infusions, three a week over 12 days (open
# label, n = 24). "6 infusions over 2-3 weeks" is common clinic practice [S]. Clinical reference §3.1, §3.4.
IV_INDUCTION = SeriesTemplate(
    code="iv_ketamine_induction",
    label="IV ketamine induction: 6 infusions, three a week",
    modality="iv_ketamine",
    sessions=tuple(
        SessionRule(week=week, weekday_slot=slot, note=f"Infusion {3 * (week - 1) + slot + 1} of 6")
        for week in (1, 2)
        for slot in (0, 1, 2)
    ),
    # Only three distinct weekdays are required by default; a clinic that wants alternate days, as in
    # Murrough's Mon/Wed/Fri, sets 2.
    min_days_between=1,
    source="Murrough et al., Biol Psychiatry 2013;74(4):250-256 (6 infusions over 12 days)",
)

# SPRAVATO label §2 (TRD): induction weeks 1-4 twice weekly, day-1 dose 56 mg, then 56 or 84 mg; check for
# therapeutic benefit at the end of induction; maintenance weeks 5-8 once weekly. Clinical reference §3.2.
# The spacing between the two weekly induction doses is not in the label [U]: min_days_between=2 is clinic
# policy (Mon/Thu or Tue/Fri pass, Mon/Tue does not).
SPRAVATO_INDUCTION = SeriesTemplate(
    code="spravato_trd_induction",
    label="SPRAVATO induction (TRD): twice weekly weeks 1-4, then weekly weeks 5-8",
    modality="spravato",
    sessions=(
        SessionRule(week=1, weekday_slot=0, note="Induction 1 of 8: first dose 56 mg (label §2)"),
        *(
            SessionRule(week=(n + 1) // 2, weekday_slot=(n + 1) % 2, note=f"Induction {n} of 8: 56 or 84 mg")
            for n in range(2, 8)
        ),
        SessionRule(
            week=4,
            weekday_slot=1,
            note="Induction 8 of 8: 56 or 84 mg; assess therapeutic benefit before continuing (label §2)",
        ),
        *(
            SessionRule(week=week, weekday_slot=0, note=f"Maintenance week {week}: once weekly, 56 or 84 mg")
            for week in (5, 6, 7, 8)
        ),
    ),
    min_days_between=2,
    source="SPRAVATO US prescribing information §2 (TRD dosing schedule)",
)

# The templates the clinic started with: the data migration that created scheduling.CourseTemplate stored these
# (its own copy, as migrations must), and the clinic edits the stored ones on the set-up pages. Booking reads the
# stored templates, never this mapping; it stays as the reference the pure tests plan against.
TEMPLATES: Mapping[str, SeriesTemplate] = MappingProxyType(
    {template.code: template for template in (IV_INDUCTION, SPRAVATO_INDUCTION)}
)


# A stored template's modality (intake.models.Modality's value) -> the modality word a SeriesTemplate carries.
MODALITY_OF: Mapping[str, str] = MappingProxyType({"iv": "iv_ketamine", "spravato": "spravato"})


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """A session laid on the calendar: ``index`` is the 1-based session number the clinic counts by."""

    index: int
    local_date: date
    start_utc: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class ProposedSession:
    """A planned session after checking availability.

    ``start`` is ``requested_start`` when that was free, the nearest usable alternative when not
    (``replaced=True``), or None when nothing fitted; ``reason`` says why, for the front desk.
    """

    index: int
    requested_start: datetime
    start: datetime | None
    replaced: bool
    reason: str = ""


def check_series_weekdays(
    template: SeriesTemplate, weekdays: Sequence[int], *, min_days_between: int | None = None
) -> tuple[int, ...]:
    """The chosen weekdays, sorted, if they give the template's spacing; else ValueError with a clear message.

    Spacing counts around the week too: Sun and Mon are 1 day apart.
    """
    gap = template.min_days_between if min_days_between is None else min_days_between
    _check_min_days_between(gap)
    for weekday in weekdays:
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekdays are 0 (Mon) to 6 (Sun), got {weekday!r}")
    chosen = tuple(sorted(set(weekdays)))
    if len(chosen) != len(weekdays):
        raise ValueError(f"{template.label}: each weekday may be chosen once, got {_names(weekdays)}")
    if len(chosen) != template.weekdays_needed:
        raise ValueError(
            f"{template.label}: choose {template.weekdays_needed} different weekdays, got {len(chosen)} "
            f"({_names(chosen)})"
        )
    for position, weekday in enumerate(chosen):
        following = chosen[(position + 1) % len(chosen)]
        days_apart = (following - weekday) % 7 or 7
        if days_apart < gap:
            raise ValueError(
                f"{template.label}: sessions must be at least {gap} days apart; "
                f"{_WEEKDAY_NAMES[weekday]} and {_WEEKDAY_NAMES[following]} are {days_apart} day(s) apart"
            )
    return chosen


def plan_series(
    template: SeriesTemplate,
    *,
    start_date: date,
    weekdays: Sequence[int],
    local_time: time,
    tz: ZoneInfo,
    min_days_between: int | None = None,
) -> list[PlannedSession]:
    """Lay ``template`` on the calendar from ``start_date``, every session at ``local_time`` local.

    The first session is on the first chosen weekday on or after ``start_date``. ``min_days_between``
    overrides the template's clinic-policy spacing for the weekday check.
    """
    if isinstance(start_date, datetime):
        raise TypeError("start_date is a local date, not a datetime")
    if local_time.tzinfo is not None:
        raise ValueError(
            f"local_time is a wall-clock time at the location; drop the tzinfo from {local_time!r}"
        )
    chosen = check_series_weekdays(template, weekdays, min_days_between=min_days_between)
    first = start_date + timedelta(days=min((weekday - start_date.weekday()) % 7 for weekday in chosen))
    days_after_first = sorted((weekday - first.weekday()) % 7 for weekday in chosen)
    planned = []
    for index, rule in enumerate(template.sessions, start=1):
        local_date = first + timedelta(days=7 * (rule.week - 1) + days_after_first[rule.weekday_slot])
        # Combine in local time first, then convert: this is what keeps 09:00 at 09:00 across DST. fold=0 is
        # the default, so a time in the spring-forward gap lands one hour later on the wall clock.
        start_utc = datetime.combine(local_date, local_time, tzinfo=tz).astimezone(UTC)
        planned.append(
            PlannedSession(index=index, local_date=local_date, start_utc=start_utc, note=rule.note)
        )
    return planned


def propose_series(
    planned: Sequence[PlannedSession],
    *,
    is_free: Callable[[datetime], bool],
    alternatives: Callable[[datetime], Sequence[datetime]],
    tz: ZoneInfo,
    min_days_between: int = 1,
) -> list[ProposedSession]:
    """Check each planned session and replace the taken ones with the nearest usable free start.

    ``is_free(start)`` says whether a session may start at ``start``; ``alternatives(start)`` returns free
    starts near ``start``, in any order (give it plenty, e.g. every free start in the week around: those that
    break the series' order or spacing are dropped here). A replacement must:

    - keep the series order and stay between its neighbours: after the previous placed session and before
      the next session's requested start, so one move never pushes the rest of the series along;
    - keep at least ``min_days_between`` local calendar days from both (pass the template's value); as that
      is at least 1, two sessions of one proposal are never on the same day and so cannot collide.

    The nearest candidate by absolute time distance wins, ties going to the earlier one. A session with no
    usable alternative gets ``start=None`` and a reason, and the sessions after it are spaced from the last
    session that was placed.
    """
    _check_min_days_between(min_days_between)
    for earlier, later in pairwise(planned):
        if later.start_utc <= earlier.start_utc:
            raise ValueError(
                f"planned sessions must be in time order: session {later.index} is not after {earlier.index}"
            )

    proposal: list[ProposedSession] = []
    previous_start: datetime | None = None  # of the last session that got a start
    for position, session in enumerate(planned):
        following = planned[position + 1] if position + 1 < len(planned) else None
        keeps_series_shape = partial(
            _keeps_series_shape,
            previous_start=previous_start,
            following=following,
            tz=tz,
            gap=min_days_between,
        )
        requested = session.start_utc
        requested_fits = keeps_series_shape(requested)
        if requested_fits and is_free(requested):
            proposal.append(
                ProposedSession(
                    index=session.index, requested_start=requested, start=requested, replaced=False
                )
            )
            previous_start = requested
            continue

        why = (
            "the requested time is taken"
            if requested_fits
            else "the requested time breaks the series spacing"
        )
        candidates = [
            candidate
            for candidate in alternatives(requested)
            if candidate != requested and keeps_series_shape(candidate)
        ]
        if not candidates:
            proposal.append(
                ProposedSession(
                    index=session.index,
                    requested_start=requested,
                    start=None,
                    replaced=False,
                    reason=(
                        f"{why}, and no free time keeps the series order with at least {min_days_between} "
                        "day(s) between sessions"
                    ),
                )
            )
            continue
        best = min(candidates, key=lambda candidate: (abs(candidate - requested), candidate))
        proposal.append(
            ProposedSession(
                index=session.index,
                requested_start=requested,
                start=best,
                replaced=True,
                reason=f"{why}; moved to the nearest free time that keeps the series order and spacing",
            )
        )
        previous_start = best
    return proposal


def _keeps_series_shape(
    candidate: datetime,
    *,
    previous_start: datetime | None,
    following: PlannedSession | None,
    tz: ZoneInfo,
    gap: int,
) -> bool:
    """After the previous placed session and before the next requested one, ``gap`` local days from each."""
    candidate_date = candidate.astimezone(tz).date()
    if previous_start is not None and (
        candidate <= previous_start or (candidate_date - previous_start.astimezone(tz).date()).days < gap
    ):
        return False
    return following is None or (
        candidate < following.start_utc and (following.local_date - candidate_date).days >= gap
    )
