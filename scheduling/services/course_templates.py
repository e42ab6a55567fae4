"""Series templates (the courses front desk books as one), changed by clinic admins on the set-up pages.

A template is checked against the treatment protocol before it is saved, in words for the admin:

- its sessions make a template at all (weeks from 1, in calendar order, each week and day once);
- Spravato follows the label's TRD schedule (clinical reference 3.2): at most two sessions a week in weeks 1-4
  (induction), at most one a week from week 5 (maintenance);
- IV ketamine at most three infusions a week (Murrough 2013, clinical reference 3.1);
- its spacing fits every treatment of its modality in use: a treatment's days between dosing sessions
  (``TreatmentType.min_days_apart``) widens the course's spacing when booked, so as many weekdays as the
  course needs must still fit in a week with that spacing.

Series already booked keep their sessions; a change applies to the series booked from then on. Retiring a
template (``is_active``) stops front desk offering it. The table is in the audit trail.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.utils.translation import gettext as _

from intake.models import Modality
from scheduling.errors import SchedulingError
from scheduling.models import CourseTemplate, TreatmentType
from scheduling.services.refusals import clean_or_refuse

MAX_SESSIONS = 52
# (last week, most sessions a series week may hold); weeks past the last entry take the last limit.
WEEKLY_LIMITS = {
    Modality.SPRAVATO: ((4, 2), (None, 1)),
    Modality.IV_KETAMINE: ((None, 3),),
}


def _weekly_limit(modality: str, week: int) -> int:
    for last_week, limit in WEEKLY_LIMITS[Modality(modality)]:
        if last_week is None or week <= last_week:
            return limit
    raise AssertionError("the last entry has no last week")


@transaction.atomic
def save_course_template(*, template: CourseTemplate) -> CourseTemplate:
    """Add or change a series template; refused, with the reason, when it breaks its modality's protocol."""
    if template.pk is not None:
        before = CourseTemplate.objects.select_for_update().get(pk=template.pk)
        if (before.code, before.modality) != (template.code, template.modality):
            # Booked series name their template by code, and their sessions were checked for its modality.
            raise SchedulingError(_("A template's code and treatment cannot change: add a new template."))
    clean_or_refuse(template)
    sessions = template.sessions
    if not sessions:
        raise SchedulingError(_("A course needs at least one session."), field="sessions")
    if len(sessions) > MAX_SESSIONS:
        raise SchedulingError(
            _("A course has at most %(count)d sessions.") % {"count": MAX_SESSIONS}, field="sessions"
        )
    try:
        pure = template.as_series_template()
    except (TypeError, ValueError):
        raise SchedulingError(
            _(
                "The sessions must be in calendar order, weeks counted from 1 and days from 1, each week and "
                "day once, with as many days a week as the spacing allows."
            ),
            field="sessions",
        ) from None
    per_week = Counter(rule.week for rule in pure.sessions)
    for week, count in sorted(per_week.items()):
        limit = _weekly_limit(template.modality, week)
        if count > limit:
            raise SchedulingError(
                _(
                    "Week %(week)d has %(count)d sessions; %(treatment)s allows at most %(limit)d in that week."
                )
                % {
                    "week": week,
                    "count": count,
                    "treatment": template.get_modality_display(),
                    "limit": limit,
                },
                field="sessions",
            )
    for treatment in TreatmentType.objects.filter(modality=template.modality, is_active=True):
        gap = max(pure.min_days_between, treatment.min_days_apart)
        if pure.weekdays_needed * gap > 7:
            raise SchedulingError(
                _(
                    "%(treatment)s needs %(gap)d days between dosing sessions, so %(days)d sessions a week do "
                    "not fit: fewer days a week, or change the treatment's spacing first."
                )
                % {"treatment": treatment.label, "gap": gap, "days": pure.weekdays_needed},
                field="sessions",
            )
    template.save()
    return template
