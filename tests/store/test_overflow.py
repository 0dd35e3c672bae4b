"""store/overflow.py on plain values: what moves to blobs, the pointer format, and reading back."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from askservice.blobs.local import LocalBlobStore
from askservice.store.base import StoreUnavailable
from askservice.store.overflow import ITEM_BUDGET, OVERFLOW_BYTES, Gone, Overflow, again, is_pointer, keys


@pytest.fixture
def overflow(tmp_path):
    return Overflow(LocalBlobStore(tmp_path))


def test_large_attributes_become_pointers_and_read_back(overflow):
    item = {"pk": "p", "sk": "s", "version": 3, "gsi1pk": "o", "gsi1sk": "g" * 40_000,
            "big": "é" * (OVERFLOW_BYTES // 2 + 1), "edge": "x" * (OVERFLOW_BYTES - 2), "small": [1, None]}
    written: list[str] = []
    stored = overflow.item(item, written)
    assert [k for k, v in stored.items() if is_pointer(v)] == ["big"]  # keys never move; JSON of `edge` is 32 KB
    digest = hashlib.sha256(b"p\0s").hexdigest()[:32]
    assert re.fullmatch(rb"blob:store/" + digest.encode() + rb"/[0-9a-f]{32}\.json", stored["big"])
    assert keys(stored.values()) == set(written) and len(written) == 1
    assert overflow.blobs.read(written[0]) == json.dumps(item["big"], ensure_ascii=False).encode()
    assert overflow.load(stored) == item


def test_the_largest_attributes_move_while_the_item_passes_its_budget(overflow):
    item = {"pk": "p", "sk": "s", **{f"a{n}": "m" * (30_000 + n) for n in range(12)}}  # 360 KB
    written: list[str] = []
    stored = overflow.item(item, written)
    moved = sorted(k for k, v in stored.items() if is_pointer(v))
    assert moved == ["a10", "a11"]  # 300 KB left
    assert sum(len(json.dumps(v)) for k, v in item.items() if k not in moved) <= ITEM_BUDGET
    assert overflow.load(stored) == item


def test_update_values_move_one_by_one_and_forget_removes(overflow):
    written: list[str] = []
    values = overflow.values("p", "s", {"big": ["z" * 40_000], "small": 1, "gsi1sk": "k"}, written)
    assert is_pointer(values["big"]) and values["small"] == 1 and len(written) == 1
    overflow.forget(written)
    with pytest.raises(Gone):
        overflow.load(values)


def test_again_reads_again_then_gives_up():
    tries = []

    def read():
        tries.append(1)
        if len(tries) < 3:
            raise Gone("a")
        return "ok"

    assert again(read) == "ok" and len(tries) == 3
    with pytest.raises(StoreUnavailable):
        again(lambda: (_ for _ in ()).throw(Gone("a")))
