"""Replies to the clinic's text messages, as Twilio delivers them (its inbound-message webhook).

Twilio signs each request with the account's auth token (the X-Twilio-Signature header: an HMAC of the URL it
called and the posted fields); anything unsigned or signed wrongly is refused and changes nothing. STOP and its
synonyms withdraw the patient's consent at once, START gives it back, HELP answers with the clinic's name and
number. Twilio's own opt-out handling also blocks further messages to a number that sent STOP; recording it here
is what keeps the app from planning texts the carrier would refuse, and what the portal shows the patient."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from clinic import policies
from intake import sms_consent
from scheduling.selectors import phone_to_call


def _signed_by_twilio(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    # The URL Twilio called, as configured there: SITE_URL (behind a proxy the request's own host may differ).
    url = settings.SITE_URL + request.get_full_path()
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST.dict(), signature)


def _twiml(message: str = "") -> HttpResponse:
    return HttpResponse(
        render_to_string("scheduling/sms_reply.xml", {"message": message}), content_type="text/xml"
    )


@csrf_exempt  # Twilio cannot send a CSRF token; the request's signature is its proof instead
@require_POST
def sms_reply(request: HttpRequest) -> HttpResponse:
    if not settings.TWILIO_AUTH_TOKEN:
        raise Http404("Text-message replies are not set up.")
    if not _signed_by_twilio(request):
        return HttpResponseForbidden("Not signed by the SMS provider.", content_type="text/plain")
    phone, body = request.POST.get("From", ""), request.POST.get("Body", "")
    word = sms_consent.keyword(body)
    if word in sms_consent.STOP_WORDS | sms_consent.START_WORDS:
        sms_consent.record_reply(
            phone=phone, body=body, provider_message_id=request.POST.get("MessageSid", ""), now=timezone.now()
        )
        return _twiml()  # Twilio confirms STOP and START itself
    if word in sms_consent.HELP_WORDS:
        return _twiml(_help_text(phone_to_call(phone)))
    return _twiml()


def _help_text(phone: str) -> str:
    call = _("call %(phone)s") % {"phone": phone} if phone else _("call the clinic")
    # STOP and START are the carrier keywords: they stay in English whatever the language.
    return _(
        "%(clinic)s: appointment reminders. For help, %(call)s. Reply STOP to end texts, START to restart. "
        "In a crisis call or text %(crisis_line)s."
    ) % {"clinic": policies.value("CLINIC_NAME"), "call": call, "crisis_line": settings.CLINIC_CRISIS_LINE}
