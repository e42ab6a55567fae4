"""Consent documents (the general consent and one per treatment), their versions and the patients' signatures.

The clinic admin edits a draft and publishes it as a material or a minor change (``services``); patients sign the
version in force in the intake (general) or the portal (any), and may withdraw it there. ``selectors`` says where a
patient stands with each document and what the booking and check-in gates refuse (scheduling asks it)."""
