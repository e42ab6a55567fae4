"""What every scheduling form shares."""

from crispy_forms.helper import FormHelper


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False  # templates write the <form>, its method and its buttons
    helper.disable_csrf = True
    return helper
