"""The import's quick reading of plain numeric dates agrees with dateutil's."""

from __future__ import annotations

from datetime import date

from dateutil import parser
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core.importing import parse_when


@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)),
    dayfirst=st.booleans(),
    sep=st.sampled_from("/.-"),
    pad=st.booleans(),
)
def test_numeric_dates_read_as_dateutil_reads_them(
    day: date, dayfirst: bool, sep: str, pad: bool
) -> None:
    a, b = (day.day, day.month) if dayfirst else (day.month, day.day)
    fmt = "{:02d}" if pad else "{}"
    text = sep.join([fmt.format(a), fmt.format(b), str(day.year)])
    assert parse_when(text, dayfirst).date() == day
    assert parse_when(text, dayfirst) == parser.parse(text, dayfirst=dayfirst, yearfirst=False)
