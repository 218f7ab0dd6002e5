"""The simulated district's calendar: the +07:00 zone, office hours (07:30-17:00, Monday to Friday) and ISO 8601
text, in epoch seconds. Receipt times, histories and appointment dates are all laid out on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=7))
OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh has no DST
DAY = 86400
OPEN_AT = 7 * 3600 + 1800  # the desk opens 07:30
CLOSE_AT = 17 * 3600


def parse_iso(text: str) -> float:
    """ISO 8601 to epoch seconds; no offset means +07:00. Tolerates a '+' decoded to ' ' in a query."""
    text = text.strip()
    if len(text) > 19 and text[-6] == " " and text[-5:-3].isdigit():
        text = text[:-6] + "+" + text[-5:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TZ)
    return parsed.timestamp()


def office_hours_from(t: int) -> int:
    """The first moment at or after t inside office hours (weekends skipped; holidays ignored here)."""
    d, s = divmod(t + OFFSET, DAY)
    if s < OPEN_AT:
        s = OPEN_AT + s % 1800
    elif s > CLOSE_AT + 1800:
        d += 1
        s = OPEN_AT + s % 3600
    weekday = (d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if weekday >= 5:
        d += 7 - weekday
    return d * DAY + s - OFFSET


def add_working_days(t: int, n: int) -> int:
    d, s = divmod(t + OFFSET, DAY)
    while n > 0:
        d += 1
        if (d + 3) % 7 < 5:
            n -= 1
    return d * DAY + s - OFFSET
