"""US postal addresses as the clinic takes them: a state (or DC, or a territory) by its USPS code, and a ZIP code of
5 digits or ZIP+4. The codes are the US Postal Service's two-letter abbreviations (USPS Publication 28, appendix B)."""

from __future__ import annotations

import re

STATES: list[tuple[str, str]] = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
    ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
    ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"),
    ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"),
    ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
    ("AS", "American Samoa"), ("GU", "Guam"), ("MP", "Northern Mariana Islands"), ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
]  # fmt: skip

STATE_NAMES = dict(STATES)

# 5 digits, or ZIP+4 written with its hyphen (or as 9 digits, which is stored with the hyphen).
ZIP_CODE = re.compile(r"^(?P<zip>\d{5})(?:-?(?P<plus4>\d{4}))?$")


def zip_code(value: str) -> str | None:
    """The ZIP code written as USPS writes it ("02139" or "02139-4307"), or None if it is not one."""
    match = ZIP_CODE.match(value.strip())
    if match is None:
        return None
    return match["zip"] + (f"-{match['plus4']}" if match["plus4"] else "")
