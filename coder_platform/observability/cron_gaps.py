"""The longest gap between two runs of a cron schedule, for "older than its schedule" alerts.

A base backup or a restore drill is stale when the newest one is older than the schedule's
longest gap plus a margin. CNPG's ScheduledBackup takes a six-field cron with seconds first
(robfig/cron), a Kubernetes CronJob the standard five fields; both use robfig/cron's matching
rules, including its day rule: when both day-of-month and day-of-week are restricted, a day
matches either (otherwise both must match). Seconds do not change the longest gap at a
minute's resolution, so they are only validated.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

MINUTES_PER_DAY = 1440
# Two years from a leap year's first day: every month, weekday and Feb 29 occur in it.
WINDOW_START = date(2024, 1, 1)
WINDOW_DAYS = 731
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class ScheduleError(ValueError):
    """A schedule this module cannot read; the message names the field and what is allowed."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


SECOND = _Field("second", 0, 59)
MINUTE = _Field("minute", 0, 59)
HOUR = _Field("hour", 0, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, MONTHS, 1)
# 7 is accepted as Sunday, as most crons do.
DAY_OF_WEEK = _Field("day-of-week", 0, 7, WEEKDAYS, 0)


@dataclass(frozen=True)
class _DayRule:
    dom: set[int]
    dom_star: bool
    months: set[int]
    dow: set[int]
    dow_star: bool

    def matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom_match = day.day in self.dom
        dow_match = (day.isoweekday() % 7) in self.dow
        if self.dom_star or self.dow_star:
            return dom_match and dow_match
        return dom_match or dow_match


def max_interval(schedule: str) -> timedelta:
    """The longest time between two consecutive runs of ``schedule`` (five or six fields)."""
    text = DESCRIPTORS.get(schedule.strip().lower(), schedule)
    fields = text.split()
    if len(fields) == 6:
        _values(fields[0], SECOND)
        fields = fields[1:]
    if len(fields) != 5:
        raise ScheduleError(
            f"a cron schedule has five fields (or six with seconds first); got {len(fields)}"
        )
    minutes = sorted(_values(fields[0], MINUTE))
    hours = sorted(_values(fields[1], HOUR))
    rule = _DayRule(
        dom=_values(fields[2], DAY_OF_MONTH),
        dom_star=_is_star(fields[2]),
        months=_values(fields[3], MONTH),
        dow={d % 7 for d in _values(fields[4], DAY_OF_WEEK)},
        dow_star=_is_star(fields[4]),
    )
    times = [h * 60 + m for h in hours for m in minutes]
    days = [
        offset
        for offset in range(WINDOW_DAYS)
        if rule.matches(WINDOW_START + timedelta(days=offset))
    ]
    if len(days) < 2:
        raise ScheduleError("the schedule runs less than once a year (or never)")
    within_day = max((b - a for a, b in itertools.pairwise(times)), default=0)
    across_days = max(
        (b - a) * MINUTES_PER_DAY - times[-1] + times[0] for a, b in itertools.pairwise(days)
    )
    return timedelta(minutes=max(within_day, across_days))


def _is_star(expression: str) -> bool:
    return any(
        part.split("/")[0] in ("*", "?") and "/" not in part for part in expression.split(",")
    )


def _values(expression: str, field: _Field) -> set[int]:
    values: set[int] = set()
    for part in expression.split(","):
        values |= _range(part, field)
    return values


def _range(part: str, field: _Field) -> set[int]:
    span, _, step_text = part.partition("/")
    step = _number(step_text, field) if step_text else 1
    if step < 1:
        raise ScheduleError(f"{field.name} step must be 1 or more, got {step_text!r}")
    if span in ("*", "?"):
        low, high = field.low, field.high
    elif "-" in span:
        first, _, last = span.partition("-")
        low, high = _number(first, field), _number(last, field)
    else:
        low = _number(span, field)
        high = field.high if step_text else low
    if not field.low <= low <= high <= field.high:
        raise ScheduleError(
            f"{field.name} {part!r} is outside {field.low}-{field.high} (or the range is reversed)"
        )
    return set(range(low, high + 1, step))


def _number(text: str, field: _Field) -> int:
    upper = text.upper()
    if upper in field.names:
        return field.names.index(upper) + field.name_base
    if not text.isdigit():
        allowed = f"{field.low}-{field.high}" + (
            f" or {field.names[0]}..{field.names[-1]}" if field.names else ""
        )
        raise ScheduleError(f"{field.name} {text!r} is not a number ({allowed})")
    return int(text)
