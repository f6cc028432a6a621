"""Dates are read with their exact format and impossible calendar dates are refused, not rolled over."""

import pyarrow as pa

from observatory.etl.transform import _strict_strptime


def test_impossible_dates_become_null_and_real_ones_read():
    text = pa.array(["31/02/2021 10:00", "29/02/2024 10:00", "29/02/2023 10:00", "1/2/2021 9:05", "garbage", None])
    parsed = _strict_strptime(text, "%d/%m/%Y %H:%M").to_pylist()
    assert parsed[0] is None  # pyarrow alone gives 03/03/2021
    assert parsed[1].isoformat() == "2024-02-29T10:00:00"
    assert parsed[2] is None
    assert parsed[3].isoformat() == "2021-02-01T09:05:00"
    assert parsed[4] is None and parsed[5] is None


def test_month_before_day_is_not_accepted_when_day_exceeds_twelve():
    # 13/01/2021 read as %m/%d/%Y would be month 13: never guessed into another date.
    assert _strict_strptime(pa.array(["13/01/2021"]), "%m/%d/%Y").to_pylist() == [None]
