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
