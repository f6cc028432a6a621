"""The ingest's fast column helpers give exactly what the Arrow kernels they replace give (issue 18: the snapshot
stays identical row for row)."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from observatory.etl.columns import _empty, _np_bool, _null_if_empty, prefixed
from observatory.etl.mapping import normalise_arrondissement


def _arrays(seed: int = 18):
    rng = np.random.default_rng(seed)
    words = ["", " ", "a", "Lyon 3", "69383", "69003", "3e", "  x  ", "ème"]
    for _ in range(40):
        chunks = []
        for _ in range(int(rng.integers(0, 4))):
            n = int(rng.integers(0, 12))
            vals = [None if rng.random() < 0.2 else words[int(rng.integers(0, len(words)))] for _ in range(n)]
            arr = pa.array(vals, pa.string())
            start = int(rng.integers(0, n + 1))
            chunks.append(arr.slice(start))  # sliced arrays: offsets that do not start at 0
        yield pa.chunked_array(chunks, pa.string())
        if chunks:
            yield chunks[0]


def test_empty_reads_the_offsets_as_the_kernels_did():
    for arr in _arrays():
        kernel = _np_bool(pc.or_(pc.is_null(arr), pc.equal(pc.utf8_length(arr), 0)))
        assert _empty(arr).tolist() == kernel.tolist()
        empty = pc.equal(pc.utf8_length(arr), 0)
        expected = arr if not pc.any(empty).as_py() else pc.if_else(empty, pa.scalar(None, pa.string()), arr)
        assert _null_if_empty(arr).to_pylist() == expected.to_pylist()


def test_prefixed_is_the_joined_string():
    for arr in _arrays():
        assert prefixed(arr, "police_nationale:").to_pylist() == pc.binary_join_element_wise(pa.scalar("police_nationale"), arr, ":").to_pylist()


def test_declared_arrondissement_by_dictionary_is_the_lookup_of_each_value():
    from observatory import schema as S
    from observatory.etl.mapping import _arr_code

    for arr in _arrays():
        got = normalise_arrondissement(arr).tolist()
        want = [S.ARRONDISSEMENT_CODES.index(c) if (c := _arr_code(v)) else -1 for v in arr.to_pylist()]
        assert got == want


def test_byte_columns_decode_as_the_decoding_reader_would():
    from observatory.etl.transcode import transcoded_column, utf8_widths

    rng = np.random.default_rng(3)
    alphabet = "aZ09 ;,éèàçÉÈ€œ’—“”žŸ"
    for encoding in ("cp1252", "latin-1", "iso8859-15"):
        widths = utf8_widths(encoding)
        assert widths is not None
        chars = [c for c in alphabet if c.encode(encoding, errors="ignore")]
        for _ in range(30):
            vals = ["".join(rng.choice(chars, int(rng.integers(0, 8)))) for _ in range(int(rng.integers(1, 20)))]
            arr = pa.array([v.encode(encoding) for v in vals], pa.binary())
            start = int(rng.integers(0, len(vals)))
            for a in (arr, arr.slice(start)):
                out = transcoded_column(a, encoding, widths)
                out.validate(full=True)
                assert out.to_pylist() == [v.decode(encoding) for v in a.to_pylist()]
    assert transcoded_column(pa.array([b"ok", b"\x81"], pa.binary()), "cp1252", utf8_widths("cp1252")) is None  # undefined in cp1252
    assert utf8_widths("utf-8") is None and utf8_widths("shift_jis") is None and utf8_widths("utf-16") is None


def test_csv_read_as_bytes_is_the_decoded_read(tmp_path):
    # Accents, an ASCII malformed line, then (second file) a malformed line with accents and (third) a byte cp1252
    # leaves undefined: whatever path the reader takes, the rows, lines, malformed rows and refusals are the same.
    from observatory.config import get_settings
    from observatory.etl import read as R
    from observatory.etl.profile import load_profile

    profile = load_profile(get_settings(env={}), "police_nationale")
    head = "NUM_FAIT;DATE_HEURE_FAITS;LIBELLE_INFRACTION;TYPE_LIEU;NB_FAITS;X_L93;Y_L93;CODE_INSEE;LIEU\r\n"
    good = "PN1;01/02/2024 10:00;Vol à l'étalage;Établissement scolaire;1;842000,5;6519000,2;69383;Rue Garibaldi\r\n"
    cases = {
        "ascii_malformed": head + good * 3 + "PN9;01/02/2024 10:00;x;y\r\n" + good,
        "accented_malformed": head + good + "PN9;01/02/2024 10:00;été;y\r\n" + good,
        "undefined_byte": None,
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.csv"
        if text is None:
            # beyond the first 64 KB that the header check decodes
            path.write_bytes((head + good * 1000).encode("cp1252") + b"PN2;01/02/2024 10:00;\x81;x;1;1;1;69383;x\r\n")
        else:
            path.write_bytes(text.encode("cp1252"))
        scan = R.scan_file(path, "cp1252", strict=False)
        layout = R.csv_layout(path, profile, scan)

        def outcome(read, *args):
            try:
                return read(path, profile, *args)
            except Exception as exc:  # the refusal itself must be the same
                return (type(exc), str(exc))

        expected = outcome(R._pyarrow_read_as, "cp1252", layout.header_line, layout.names, False, 1 << 20, pa.string())
        got = outcome(R._pyarrow_read, "cp1252", layout.header_line, layout.names, False)
        if name == "undefined_byte":
            assert got == expected and expected[0] is R._DecodeFailure
        else:
            assert got[0].equals(expected[0]) and got[1] == expected[1] and got[2] == expected[2], name
    bytes_read = R._pyarrow_read_as(tmp_path / "ascii_malformed.csv", profile, "utf8", 1, layout.names, False, 1 << 20, pa.binary())
    assert bytes_read[0].num_rows == 4 and len(bytes_read[1]) == 1  # the byte reader itself took the first file



def _reference_zone_lists(index, masks, wall, extra):  # the whole-matrix implementation it replaced
    """List of zone ids per row, respecting each zone's validity dates, as an Arrow list array built from offsets."""
    n = len(wall)
    if n == 0:
        return pa.array([], type=pa.list_(pa.string()))
    local_day = pc.cast(wall, pa.timestamp("s")).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    ids = list(index.zone_ids)
    member = np.zeros((n, len(ids) + 1), dtype=bool)
    for j, (m, vf, vt) in enumerate(zip(masks, index.zone_from, index.zone_to)):
        valid = np.ones(n, dtype=bool)
        if vf is not None:
            valid &= local_day >= vf
        if vt is not None:
            valid &= local_day <= vt
        member[:, j] = m & valid
    # Zones known from a site or quarter name (no point): added if not already found spatially.
    extra_ok = np.array([e is not None for e in extra], dtype=bool) if extra is not None else np.zeros(n, dtype=bool)
    if extra_ok.any():
        pos = {z: j for j, z in enumerate(ids)}
        for i in np.flatnonzero(extra_ok):
            j = pos.get(extra[i])
            if j is not None:
                member[i, j] = True
    rows, cols = np.nonzero(member)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    values = pc.take(pa.array(ids + [""], type=pa.string()), pa.array(cols.astype(np.int32)))  # no per-row Python string
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)


def test_zone_lists_of_zoned_rows_only_are_the_full_matrix_lists():
    """The zone lists built from the rows inside some zone equal those of the whole membership matrix."""
    from types import SimpleNamespace

    from observatory.etl.places import _zone_lists

    rng = np.random.default_rng(7)
    index = SimpleNamespace(zone_ids=("hypercentre", "qpv_a", "piscine_b"),
                            zone_from=(None, np.datetime64("2020-01-01"), None), zone_to=(None, None, np.datetime64("2023-06-30")))
    for n in (0, 1, 50, 2000):
        masks = [rng.random(n) < p for p in (0.05, 0.3, 0.0)]
        days = rng.integers(0, 3000, n).astype("timedelta64[D]") + np.datetime64("2018-01-01")
        wall = pa.array(days.astype("datetime64[s]"), pa.timestamp("s"))
        extra = np.array([None if rng.random() < 0.9 else str(rng.choice(["piscine_b", "qpv_a", "inconnue"])) for _ in range(n)], dtype=object)
        for ex in (None, extra):
            got = _zone_lists(index, masks, wall, ex)
            want = _reference_zone_lists(index, masks, wall, ex)
            assert got.equals(want)
            assert n < 50 or sum(len(v) for v in got.to_pylist()) > 0
