"""Does the day view's Python-built markup still pay its way? Renders one busy day both ways, in-process.

    python -m bench.day_grid

The day view's grid rows and its small-screen list are made by template tags (``scheduling_tags.day_grid_rows``,
``day_list_items``) rather than by the template engine. This builds a 12-chair, 40-row day with 32 sessions
(``selectors.DaySchedule``, no database) and renders it with those tags and with ``TEMPLATE`` below, the same
markup written as template language (checked equal), and prints the fastest of 15 rounds of 50 renders each; then
the tags again with front desk's links in every empty cell (the booking panel's), as front desk's day view has.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, date, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
django.setup()

from django.template import engines  # noqa: E402

from scheduling.selectors.schedule import EMPTY_CELL, DayCell, DayColumn, DayEntry, DayRow, DaySchedule  # noqa: E402
from scheduling.templatetags import scheduling_tags  # noqa: E402

# The tags' markup as template language: a cell per chair and row, a session's cell spanning its rows.
TEMPLATE = (
    '{% for row in schedule.rows %}<tr{% if row.hour_start %} class="hour-start"{% endif %}><th scope="row">'
    '{% if row.hour_start or forloop.first %}{{ row.label }}{% else %}<span class="visually-hidden">'
    "{{ row.label }}</span>{% endif %}</th>{% for cell in row.cells %}{% if cell.entry %}{% with e=cell.entry %}"
    '<td{% if cell.rows > 1 %} rowspan="{{ cell.rows }}"{% endif %}><a class="appt appt-{{ e.status }}" '
    'href="{{ before }}{{ e.pk }}{{ after }}"><strong>{{ e.times }}</strong><br>{{ e.patient_name }}<br>'
    '{{ e.treatment_label }}<br><span class="fw-semibold">{{ e.status_label }}</span>'
    "{% if e.late_cancellation %} (late){% endif %}</a></td>{% endwith %}{% elif cell %}<td></td>{% endif %}"
    "{% endfor %}</tr>\n{% endfor %}"
    '{% for e in schedule.appointments %}<li class="mb-2"><a class="appt appt-{{ e.status }}" '
    'href="{{ before }}{{ e.pk }}{{ after }}"><strong>{{ e.times }}</strong> {{ e.resource_name }} · '
    "{{ e.patient_name }}<br>{{ e.treatment_label }} · {{ e.clinician_name }} · "
    '<span class="fw-semibold">{{ e.status_label }}</span></a></li>\n{% endfor %}'
)
CHAIRS, ROWS, ROUNDS, RENDERS = 12, 40, 15, 50


def busy_day() -> DaySchedule:
    start = datetime(2027, 3, 3, 13, tzinfo=UTC)
    rows = [
        DayRow(
            at=start + timedelta(minutes=15 * r),
            label=f"{8 + r // 4:02d}:{15 * (r % 4):02d}",
            hour_start=r % 4 == 0,
            cells=[EMPTY_CELL] * CHAIRS,
        )
        for r in range(ROWS)
    ]
    entries = []
    for chair in range(CHAIRS):
        for first in (0, 10, 20, 30):
            if (chair + first) % 3 == 0:
                continue
            entry = DayEntry(
                pk=len(entries) + 1, status="confirmed", start_at=rows[first].at,
                end_at=rows[first].at + timedelta(hours=2), times="09:00–11:00", resource_id=chair,
                resource_name=f"Chair {chair + 1}", patient_name="Ann <Lee>", treatment_label="IV ketamine infusion",
                clinician_name="Dana Ruiz, MD", late_cancellation=False, cancellation_reason="",
            )  # fmt: skip
            entries.append(entry)
            rows[first].cells[chair] = DayCell(entry=entry, rows=8)
            for covered in range(first + 1, first + 8):
                rows[covered].cells[chair] = None
    return DaySchedule(
        location=None, day=date(2027, 3, 3), resources=[DayColumn(i, f"Chair {i + 1}") for i in range(CHAIRS)],
        appointments=entries, rows=rows, closed_reason=None, row_minutes=15, cancelled=[],
    )  # fmt: skip


def fastest(render) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(RENDERS):
            out = render()
        best = min(best, (time.perf_counter() - started) / RENDERS)
    return best * 1000, out


def main() -> None:
    schedule = busy_day()
    before, after = scheduling_tags._detail_links()
    template = engines["django"].from_string(TEMPLATE)
    tags_ms, by_tags = fastest(
        lambda: scheduling_tags.day_grid_rows(schedule) + scheduling_tags.day_list_items(schedule)
    )
    template_ms, by_template = fastest(
        lambda: template.render({"schedule": schedule, "before": before, "after": after})
    )
    # Front desk's grid: every empty cell a link to book it (the template-language version has no such cells).
    booking_ms, _ = fastest(
        lambda: (
            scheduling_tags.day_grid_rows(schedule, "/scheduling/day/book/?location=1")
            + scheduling_tags.day_list_items(schedule)
        )
    )
    same = re.sub(r"\s+", " ", by_tags).strip() == re.sub(r"\s+", " ", by_template).strip()
    print(
        f"{CHAIRS} chairs x {ROWS} rows, {len(schedule.appointments)} sessions; fastest of {ROUNDS} x {RENDERS}"
    )
    print(f"template tags: {tags_ms:.2f} ms   template language: {template_ms:.2f} ms   same markup: {same}")
    print(f"template tags with front desk's book-a-cell links: {booking_ms:.2f} ms")


if __name__ == "__main__":
    main()
