"""Clinician review pages. Views parse input and render; every change goes through one service
(``review.decisions``, ``review.alerts``) and every patient is fetched through the access gate in
``review.selectors`` (a 404 for anyone else)."""
