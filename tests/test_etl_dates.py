"""Dates are read with their exact format and impossible calendar dates are refused, not rolled over."""

import pyarrow as pa

from observatory.etl.times import _strict_strptime


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


def _reference(text: list[str | None], fmt: str) -> list:
    """The exact check on every row (what ``_strict_strptime`` did before its fast path)."""
    import numpy as np
    import pyarrow.compute as pc

    from observatory.etl.times import _same_modulo_zeros

    arr = pa.array(text, pa.string())
    parsed = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
    ok = _same_modulo_zeros(parsed, arr, fmt)
    return [p if bool(k) else None for p, k in zip(parsed.to_pylist(), np.asarray(ok))]


def test_fast_path_agrees_with_the_exact_check_on_a_grid_of_odd_dates():
    # Days and months out of range, short numbers, 2-digit years, hour 24, minute 60, leap days, odd spacing.
    days = ["0", "00", "1", "01", "9", "28", "29", "30", "31", "32"]
    months = ["0", "1", "01", "02", "2", "04", "12", "13"]
    years = ["2021", "2024", "21", "0999", "999"]
    clocks = ["00:00", "0:5", "09:05", "23:59", "24:00", "23:60", " 10:00"]
    text = [f"{d}/{m}/{y} {c}" for d in days for m in months for y in years for c in clocks]
    text += ["", " 01/02/2021 10:00 ", "01/02/2021  10:00", "01/02/2021T10:00", None, "garbage"]
    fast = _strict_strptime(pa.array(text, pa.string()), "%d/%m/%Y %H:%M").to_pylist()
    assert fast == _reference(text, "%d/%m/%Y %H:%M")
    assert sum(v is not None for v in fast) > 100  # the grid does hold readable dates
    iso = [f"{y}-{m}-{d}" for d in days for m in months for y in years]
    assert _strict_strptime(pa.array(iso), "%Y-%m-%d").to_pylist() == _reference(iso, "%Y-%m-%d")
    secs = ["2021-12-31 23:59:59", "2021-12-31 23:59:60", "2021-01-01 10:00:61", "2021-01-01 10:00:00"]
    assert _strict_strptime(pa.array(secs), "%Y-%m-%d %H:%M:%S").to_pylist() == _reference(secs, "%Y-%m-%d %H:%M:%S")
    # A directive the fast renderer does not write (%b) takes the exact path for every row.
    named = ["01 Feb 2021", "31 Feb 2021"]
    assert _strict_strptime(pa.array(named), "%d %b %Y").to_pylist() == _reference(named, "%d %b %Y")


def test_byte_matrix_path_agrees_with_the_exact_check_on_fixed_width_dates():
    # Every text 16 bytes wide (zero-padded), so the numpy byte-matrix comparison decides; rolled-over dates
    # (31/04, 29/02 of a common year), out-of-range fields and a wrong separator of the same width included.
    from observatory.etl.times import _equals_rendering

    text = [f"{d:02d}/{m:02d}/{y} {h:02d}:{mi:02d}" for d in (0, 1, 28, 29, 30, 31, 32) for m in (0, 1, 2, 4, 12, 13)
            for y in ("2021", "2024", "0999") for h, mi in ((0, 0), (23, 59), (24, 0))]
    text += ["01-02-2021 10:00", "01/02/2021T10:00"]
    assert {len(t) for t in text} == {16}
    arr = pa.array(text)
    assert _equals_rendering(pa.compute.strptime(arr, format="%d/%m/%Y %H:%M", unit="s", error_is_null=True), arr, "%d/%m/%Y %H:%M") is not None
    fast = _strict_strptime(arr, "%d/%m/%Y %H:%M").to_pylist()
    assert fast == _reference(text, "%d/%m/%Y %H:%M")
    assert fast[text.index("28/02/2021 23:59")].isoformat() == "2021-02-28T23:59:00"
    assert fast[text.index("29/02/2021 00:00")] is None and fast[text.index("29/02/2024 00:00")] is not None
    assert fast[text.index("31/04/2021 00:00")] is None and fast[text.index("01-02-2021 10:00")] is None


def test_time_order_is_the_stable_order_with_unreadable_dates_last():
    import numpy as np

    from observatory.etl.times import _stable_argsort

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        values = [None if rng.random() < 0.2 else int(v) for v in rng.integers(-5, 5, n)]
        got = _stable_argsort(pa.array(values, pa.int64()))
        key = np.array([10**9 if v is None else v for v in values])
        if got is None:  # None means "already in order"
            assert (np.diff(key) >= 0).all()
        else:
            assert got.tolist() == np.argsort(key, kind="stable").tolist()


def test_dates_read_from_their_bytes_agree_with_parse_and_check():
    # Random 16- and 19-byte texts (every digit position drawn 0-9, some separators wrong): the byte reader settles
    # the real dates itself and leaves the others (rolled over, hour 24, second 60, year 0) to the exact path;
    # the result is the parse-then-check answer row for row.
    import numpy as np

    from observatory.etl.times import _checked_strptime, _read_fixed_width

    rng = np.random.default_rng(18)
    for fmt, make in (("%d/%m/%Y %H:%M", lambda d: f"{d[0]}{d[1]}/{d[2]}{d[3]}/{d[4]}{d[5]}{d[6]}{d[7]} {d[8]}{d[9]}:{d[10]}{d[11]}"),
                      ("%Y-%m-%d %H:%M:%S", lambda d: f"{d[4]}{d[5]}{d[6]}{d[7]}-{d[2]}{d[3]}-{d[0]}{d[1]} {d[8]}{d[9]}:{d[10]}{d[11]}:{d[12]}{d[13]}")):
        digits = rng.integers(0, 10, (4000, 14))
        digits[:2000, 0] = rng.integers(0, 4, 2000)  # plausible days, months and hours for half of the rows
        digits[:2000, 2] = rng.integers(0, 2, 2000)
        digits[:2000, 8] = rng.integers(0, 3, 2000)
        digits[:2000, 10] = rng.integers(0, 6, 2000)
        digits[:2000, 12] = rng.integers(0, 7, 2000)
        text = [make(d) for d in digits] + [make([3, 1, 0, 4, 2, 0, 2, 1, 1, 0, 0, 0, 0, 0]), make([0] * 14)]
        text[5] = text[5].replace(" ", "T")
        text[6] = "zz" + text[6][2:4] + "~~" + text[6][6:]  # bytes above and below the digits
        arr = pa.array(text)
        seconds, ok = _read_fixed_width(arr, fmt)
        assert ok.sum() > 500 and (~ok).sum() > 500  # both paths are exercised
        assert _strict_strptime(arr, fmt).to_pylist() == _checked_strptime(arr, fmt).to_pylist()
