"""The one reader of dates and times, for every step and for drift detection.

- Text with time zones (`2026-03-01T10:00+05:30`, `...Z`) is normalised to UTC; a column that mixes values
  with and without a zone is refused (which zone would the others be in?).
- Dates written with slashes or dots (`03/04/2026`) are day-first or month-first: a value with a first
  field over 12 shows day-first, a second field over 12 month-first; both in one column is refused, and a
  column where every value could be either is refused unless `date_order` says which.
- Numbers are epochs; the unit (s, ms, us, ns) is told by their size, and a column mixing units is refused.

Results are naive timestamps in UTC. Every refusal is one BadInputError naming the file, column and row.
"""

import re

import pandas as pd
from pandas.api import types

from nivesh_common.errors import BadInputError

DATE_ORDERS = ("", "day-first", "month-first")
# Dates a weekly extract can plausibly hold: the last PLAUSIBLE_YEARS_BACK years, up to PLAUSIBLE_DAYS_AHEAD ahead
# (scheduled payments). Outside, a date is a default value (1900-01-01), a typo (2099) or a unit mistake.
PLAUSIBLE_YEARS_BACK = 20
PLAUSIBLE_DAYS_AHEAD = 366
_ZONED = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})\b")
# Seconds since 1970 for 1973-2286; the same span in ms, us and ns.
_EPOCH_UNITS = (("s", 1e8, 1e10), ("ms", 1e11, 1e13), ("us", 1e14, 1e16), ("ns", 1e17, 1e19))


def parse_timestamps(values: pd.Series, source: str, column: str, date_order: str = "") -> pd.Series:
    """`values` as naive UTC timestamps; refuses what cannot be read one way only."""
    where = f"{source}: column {column}"
    if date_order not in DATE_ORDERS:
        raise BadInputError(f"{where}: date order {date_order!r}: expected day-first or month-first")
    _refuse_missing(values, where)
    if types.is_numeric_dtype(values):
        return _from_epochs(values, where)
    if types.is_datetime64_any_dtype(values):
        return _naive_utc(values)
    text = values.astype(str).str.strip()
    parsed = pd.to_datetime(
        text, errors="coerce", format="mixed", dayfirst=_day_first(text, where, date_order), utc=True
    )
    _refuse_unparsed(parsed, values, where)
    _refuse_mixed_zones(text, where)
    return _naive_utc(parsed)


def _refuse_missing(values: pd.Series, where: str) -> None:
    missing = values.isna() | values.astype(str).str.strip().eq("")
    if missing.any():
        raise BadInputError(f"{where}: row {_first(missing)} is empty")


def _refuse_unparsed(parsed: pd.Series, values: pd.Series, where: str) -> None:
    if parsed.isna().any():
        row = _first(parsed.isna())
        raise BadInputError(f"{where}: row {row} is {str(values.iloc[row - 1])!r}, not a date-time")


def _refuse_mixed_zones(text: pd.Series, where: str) -> None:
    zoned = text.str.contains(_ZONED) & text.str.contains(r"\d[T ]\d|T\d")
    if zoned.any() and not zoned.all():
        with_zone, without = _first(zoned), _first(~zoned)
        raise BadInputError(
            f"{where}: row {with_zone} has a time zone ({text.iloc[with_zone - 1]!r}) and row {without} has none "
            f"({text.iloc[without - 1]!r}); write every value with its zone, or none"
        )


def _day_first(text: pd.Series, where: str, date_order: str) -> bool:
    fields = text.str.extract(_SLASHED)
    slashed = fields[0].notna()
    if not slashed.any():
        return False
    first, second = fields.loc[slashed, 0].astype(int), fields.loc[slashed, 1].astype(int)
    day_first_rows, month_first_rows = first.index[first > 12], second.index[second > 12]
    if len(day_first_rows) and len(month_first_rows):
        day, month = day_first_rows[0] + 1, month_first_rows[0] + 1
        raise BadInputError(
            f"{where}: row {day} is day-first ({text.iloc[day - 1]!r}) and row {month} month-first "
            f"({text.iloc[month - 1]!r}); use one order, or ISO dates (2026-03-04)"
        )
    if len(day_first_rows) or len(month_first_rows):
        return bool(len(day_first_rows))
    if not date_order:
        row = int(slashed.to_numpy().nonzero()[0][0]) + 1
        raise BadInputError(
            f"{where}: row {row} is {text.iloc[row - 1]!r}, day-first or month-first alike; "
            "pass --date-order day-first or month-first, or use ISO dates (2026-03-04)"
        )
    return date_order == "day-first"


def _from_epochs(values: pd.Series, where: str) -> pd.Series:
    magnitude = values.abs()
    units = pd.Series(None, index=values.index, dtype=object)
    for unit, low, high in _EPOCH_UNITS:
        units[(magnitude >= low) & (magnitude < high)] = unit
    if units.isna().any():
        row = _first(units.isna())
        raise BadInputError(
            f"{where}: row {row} is {values.iloc[row - 1]}, not an epoch in seconds, ms, us or ns (1973-2286)"
        )
    if units.nunique() > 1:
        raise BadInputError(f"{where}: epochs in more than one unit ({', '.join(sorted(units.unique()))})")
    return pd.to_datetime(values, unit=units.iloc[0])


def _naive_utc(timestamps: pd.Series) -> pd.Series:
    return timestamps.dt.tz_convert("UTC").dt.tz_localize(None) if timestamps.dt.tz is not None else timestamps


def _first(mask: pd.Series) -> int:
    """1-based row of the first True."""
    return int(mask.to_numpy().nonzero()[0][0]) + 1


def require_plausible_dates(dates: pd.Series, source: str, column: str, today: pd.Timestamp | None = None) -> None:
    """Refuse parsed dates outside [today - PLAUSIBLE_YEARS_BACK years, today + PLAUSIBLE_DAYS_AHEAD days]."""
    today = (today or pd.Timestamp.now(tz="UTC").tz_localize(None)).normalize()
    earliest = today - pd.DateOffset(years=PLAUSIBLE_YEARS_BACK)
    latest = today + pd.Timedelta(days=PLAUSIBLE_DAYS_AHEAD)
    outside = ((dates < earliest) | (dates > latest)).to_numpy()
    if outside.any():
        row = int(outside.nonzero()[0][0])
        raise BadInputError(
            f"{source}: column {column}: row {row + 1} is {dates.iloc[row]:%Y-%m-%d}, outside the plausible "
            f"{earliest:%Y-%m-%d} to {latest:%Y-%m-%d} ({int(outside.sum())} such row(s))"
        )
