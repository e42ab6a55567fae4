"""Garbage into every intake step: never a 500, and a refused post writes nothing."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.models import ConsentRecord, Intake
from intake.steps import ALL_STEPS
from intake.views import build_step
from tests.factories import contact_data, post_step

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "yes", "no", "unsure", "0", "1", "3", "4", "-1", "99999999999999999999", "1e309", "NaN",
                     "2015-01-01", "1985-02-30", "on", "true", "<script>", "' OR 1=1 --", "\x00", "a" * 5000]),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
)  # fmt: skip


def _field_names(step_key: str, intake: Intake) -> list[str]:
    page = build_step(next(s for s in ALL_STEPS if s.key == step_key), intake)
    names = list(page.form.fields)
    if page.formset is not None:
        prefix = page.formset.prefix
        names += [f"{prefix}-TOTAL_FORMS", f"{prefix}-INITIAL_FORMS", f"{prefix}-MAX_NUM_FORMS"]
        names += [f"{prefix}-0-{name}" for name in page.formset.form.base_fields]
    if step_key == "cssrs":
        names += ["q3", "q4", "q5", "q6_past_3_months"]
    return names


@pytest.mark.parametrize("step_key", [step.key for step in ALL_STEPS])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_garbage_never_500s_and_a_refused_post_writes_nothing(patient_client, intake, step_key, data):
    post_step(patient_client, intake, "contact", contact_data())
    post_step(patient_client, intake, "reasons", {"reasons": ["ptsd", "ocd"]})
    names = _field_names(step_key, Intake.objects.get(pk=intake.pk))
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True), label="fields")
    form = {name: data.draw(TEXT, label=name) for name in chosen}
    form.update(data.draw(st.dictionaries(st.text(min_size=1, max_size=10), TEXT, max_size=3), label="extra"))
    before = Intake.objects.get(pk=intake.pk).answers
    consents = ConsentRecord.objects.count()

    response = post_step(
        patient_client,
        intake,
        step_key,
        form,
        action=data.draw(st.sampled_from(["next", "back", "add_row", "???"])),
    )

    assert response.status_code in (200, 302, 400)
    if response.status_code != 302:
        assert Intake.objects.get(pk=intake.pk).answers == before
        assert ConsentRecord.objects.count() == consents
