"""The Store contract: the same assertions on every backend (SQLite file, DynamoDB Local)."""

from __future__ import annotations

import gevent
import pytest
from gevent.event import Event

from askservice import ids
from askservice.blobs.local import LocalBlobStore
from askservice.store.base import ABSENT, Check, ConditionFailed, Delete, Put, Update
from tests.conftest import BACKENDS
from tests.store.trips import RoundTrips


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory):
    """Yield (store, blob folder) for one backend, shared by the module; tests use fresh partitions."""
    root = tmp_path_factory.mktemp("blobs")
    blobs = LocalBlobStore(root)
    if request.param == "sqlite":
        from askservice.store.sqlite import SqliteStore

        store = SqliteStore(tmp_path_factory.mktemp("db") / "store.db")
    else:
        from askservice.store.dynamodb import DynamoStore

        dynamo = request.getfixturevalue("dynamodb_local")
        store = DynamoStore(dynamo.new_table(), blobs, client=dynamo.client())
        store.create_table()
    yield request.param, store, root
    store.close()


@pytest.fixture
def store(backend):
    return backend[1]


@pytest.fixture
def pk():
    """A partition no other test touches."""
    return "test#" + ids.new_id("p_")


def fill(store, pk, prefix, count):
    """Put `count` items with time-ordered sks under `prefix`; return their sks in order."""
    sks = [prefix + ids.new_id("x_") for _ in range(count)]
    for n, sk in enumerate(sks):
        store.put({"pk": pk, "sk": sk, "n": n}, condition=ABSENT)
    return sks


def sks(page):
    return [item["sk"] for item in page.items]


def test_put_get_delete(store, pk):
    item = {"pk": pk, "sk": "meta", "name": "a", "tags": ["x", "y"], "meta": {"k": {"n": 1}}}
    assert store.put(item) == {**item, "version": 1}
    assert store.get(pk, "meta") == {**item, "version": 1}
    assert store.get(pk, "other") is None
    assert store.delete(pk, "meta") is True
    assert store.get(pk, "meta") is None
    assert store.delete(pk, "meta") is False


def test_values_round_trip(store, pk):
    values = {
        "int": 7, "neg": -3, "big": 2**53, "float": 0.25, "whole_float": 1.0, "true": True, "false": False,
        "none": None, "empty": "", "text": "héllo ☃ 𝄞", "list": [1, "a", None, [2.5]], "empty_list": [],
        "empty_map": {}, "nested": {"a": [{"b": False}]},
    }
    store.put({"pk": pk, "sk": "meta", **values})
    got = store.get(pk, "meta")
    assert got == {"pk": pk, "sk": "meta", "version": 1, **values}
    assert type(got["int"]) is int and type(got["float"]) is float  # a whole float may come back as an int


def test_put_absent_refuses_an_existing_item(store, pk):
    store.put({"pk": pk, "sk": "meta", "v": "first"}, condition=ABSENT)
    with pytest.raises(ConditionFailed):
        store.put({"pk": pk, "sk": "meta", "v": "second"}, condition=ABSENT)
    assert store.get(pk, "meta")["v"] == "first"


def test_put_on_version_replaces_and_bumps(store, pk):
    store.put({"pk": pk, "sk": "meta", "v": 1, "gone": True}, condition=ABSENT)
    assert store.put({"pk": pk, "sk": "meta", "v": 2}, condition=1)["version"] == 2
    assert store.get(pk, "meta") == {"pk": pk, "sk": "meta", "v": 2, "version": 2}
    with pytest.raises(ConditionFailed):  # stale version
        store.put({"pk": pk, "sk": "meta", "v": 3}, condition=1)
    with pytest.raises(ConditionFailed):  # no such item
        store.put({"pk": pk, "sk": "missing", "v": 3}, condition=1)
    assert store.get(pk, "meta")["v"] == 2
    assert store.get(pk, "missing") is None


def test_update_sets_removes_and_bumps(store, pk):
    store.put({"pk": pk, "sk": "meta", "status": "queued", "error": "x", "keep": 1})
    new = store.update(pk, "meta", set={"status": "done", "result": {"a": [1]}}, remove=["error"])
    assert new == {"pk": pk, "sk": "meta", "status": "done", "result": {"a": [1]}, "keep": 1, "version": 2}
    assert store.get(pk, "meta") == new
    assert store.update(pk, "meta", set={"keep": 2}, expected_version=2)["version"] == 3


def test_update_on_stale_version_or_missing_item_fails_and_changes_nothing(store, pk):
    store.put({"pk": pk, "sk": "meta", "status": "queued"})
    store.update(pk, "meta", set={"status": "in_progress"}, expected_version=1)
    with pytest.raises(ConditionFailed):
        store.update(pk, "meta", set={"status": "cancelled"}, expected_version=1)
    assert store.get(pk, "meta") == {"pk": pk, "sk": "meta", "status": "in_progress", "version": 2}
    with pytest.raises(ConditionFailed):
        store.update(pk, "missing", set={"status": "x"})
    assert store.get(pk, "missing") is None


def test_malformed_writes_are_value_errors(store, pk):
    for bad in ({"pk": pk}, {"pk": pk, "sk": 5}, {"pk": "", "sk": "a"}, {"pk": pk, "sk": "a", "gsi1pk": "o"}):
        with pytest.raises(ValueError):
            store.put(bad)
        with pytest.raises(ValueError):
            store.transact([Put(bad)])
    with pytest.raises(ValueError):
        store.put({"pk": pk, "sk": "a"}, condition="bogus")
    assert store.query(pk).items == []


def test_update_rejects_changing_keys_or_version(store, pk):
    store.put({"pk": pk, "sk": "meta"})
    for bad in ({"pk": "other"}, {"sk": "other"}, {"version": 9}):
        with pytest.raises(ValueError):
            store.update(pk, "meta", set=bad)
    assert store.get(pk, "meta")["version"] == 1


def test_delete_on_version(store, pk):
    store.put({"pk": pk, "sk": "meta"})
    store.update(pk, "meta", set={"a": 1})
    with pytest.raises(ConditionFailed):
        store.delete(pk, "meta", expected_version=1)
    assert store.get(pk, "meta") is not None
    assert store.delete(pk, "meta", expected_version=2) is True
    with pytest.raises(ConditionFailed):
        store.delete(pk, "meta", expected_version=2)


def test_transaction_applies_all(store, pk):
    store.put({"pk": pk, "sk": "a", "n": 0})
    store.put({"pk": pk, "sk": "b", "n": 0})
    store.put({"pk": pk, "sk": "c"})
    store.transact([
        Put({"pk": pk, "sk": "new", "n": 1}, condition=ABSENT),
        Update(pk, "a", set={"n": 1}, expected_version=1),
        Delete(pk, "c", expected_version=1),
        Check(pk, "b", expected_version=1),
    ])
    assert store.get(pk, "new")["n"] == 1
    assert store.get(pk, "a") == {"pk": pk, "sk": "a", "n": 1, "version": 2}
    assert store.get(pk, "b")["version"] == 1
    assert store.get(pk, "c") is None


@pytest.mark.parametrize(
    "failing",
    [
        lambda pk: Check(pk, "b", expected_version=5),
        lambda pk: Check(pk, "missing"),
        lambda pk: Put({"pk": pk, "sk": "b"}, condition=ABSENT),
        lambda pk: Put({"pk": pk, "sk": "b"}, condition=3),
        lambda pk: Update(pk, "missing", set={"n": 1}),
        lambda pk: Update(pk, "b", set={"n": 1}, expected_version=2),
        lambda pk: Delete(pk, "b", expected_version=2),
    ],
    ids=["check-version", "check-missing", "put-absent", "put-version", "update-missing", "update-version", "delete-version"],
)
def test_transaction_with_one_failed_condition_writes_nothing(store, pk, failing):
    store.put({"pk": pk, "sk": "a", "n": 0})
    store.put({"pk": pk, "sk": "b", "n": 0})
    store.put({"pk": pk, "sk": "c", "n": 0})
    with pytest.raises(ConditionFailed):
        store.transact([
            Put({"pk": pk, "sk": "new"}, condition=ABSENT),
            Update(pk, "a", set={"n": 1}),
            Delete(pk, "c"),
            failing(pk),
        ])
    assert store.get(pk, "new") is None
    assert store.get(pk, "a") == {"pk": pk, "sk": "a", "n": 0, "version": 1}
    assert store.get(pk, "b") == {"pk": pk, "sk": "b", "n": 0, "version": 1}
    assert store.get(pk, "c") is not None


def test_transaction_rejects_touching_an_item_twice(store, pk):
    with pytest.raises(ValueError):
        store.transact([Put({"pk": pk, "sk": "a"}), Update(pk, "a", set={"n": 1})])
    assert store.get(pk, "a") is None


def test_query_pages_forward_in_both_orders(store, pk):
    msgs = fill(store, pk, "msg#", 7)
    fill(store, pk, "run#", 3)  # same partition, other prefix
    fill(store, pk + "x", "msg#", 2)  # other partition
    first = store.query(pk, "msg#", limit=3)
    assert sks(first) == msgs[:3] and first.has_more
    second = store.query(pk, "msg#", after=msgs[2], limit=3)
    assert sks(second) == msgs[3:6] and second.has_more
    last = store.query(pk, "msg#", after=msgs[5], limit=3)
    assert sks(last) == msgs[6:] and not last.has_more
    assert store.query(pk, "msg#", after=msgs[6], limit=3).items == []
    desc = store.query(pk, "msg#", limit=4, order="desc")
    assert sks(desc) == msgs[::-1][:4] and desc.has_more
    rest = store.query(pk, "msg#", after=msgs[3], limit=4, order="desc")
    assert sks(rest) == msgs[::-1][4:] and not rest.has_more
    exact = store.query(pk, "msg#", limit=7)
    assert sks(exact) == msgs and not exact.has_more
    assert [i["n"] for i in exact.items] == list(range(7))


def test_query_before_gives_the_previous_page_in_the_requested_order(store, pk):
    msgs = fill(store, pk, "msg#", 7)
    fill(store, pk, "run#", 2)
    fill(store, pk, "a#", 2)  # sorts below the prefix: must not leak into a backwards walk
    page = store.query(pk, "msg#", before=msgs[6], limit=3)
    assert sks(page) == msgs[3:6] and page.has_more
    page = store.query(pk, "msg#", before=msgs[3], limit=3)
    assert sks(page) == msgs[0:3] and not page.has_more
    page = store.query(pk, "msg#", before=msgs[2], limit=3)
    assert sks(page) == msgs[0:2] and not page.has_more
    desc = store.query(pk, "msg#", before=msgs[0], limit=3, order="desc")
    assert sks(desc) == [msgs[3], msgs[2], msgs[1]] and desc.has_more
    desc = store.query(pk, "msg#", before=msgs[3], limit=3, order="desc")
    assert sks(desc) == [msgs[6], msgs[5], msgs[4]] and not desc.has_more
    between = store.query(pk, "msg#", after=msgs[1], before=msgs[5], limit=10)
    assert sks(between) == msgs[2:5] and not between.has_more
    between = store.query(pk, "msg#", after=msgs[5], before=msgs[1], limit=2, order="desc")
    assert sks(between) == [msgs[4], msgs[3]] and between.has_more


def test_query_cursors_outside_the_prefix(store, pk):
    msgs = fill(store, pk, "msg#", 3)
    fill(store, pk, "run#", 2)
    assert sks(store.query(pk, "msg#", after="a", limit=5)) == msgs
    assert store.query(pk, "msg#", after="z", limit=5).items == []
    assert sks(store.query(pk, "msg#", before="z", limit=5)) == msgs
    assert sks(store.query(pk, "msg#", after="z", limit=5, order="desc")) == msgs[::-1]
    assert store.query(pk, "msg#", after="a", limit=5, order="desc").items == []


def test_pages_larger_than_one_response_are_whole(store, pk):
    """DynamoDB answers a Query with at most 1 MB; a page of 40 items of 30 KB spans two answers."""
    written = [ids.new_id("x_") for _ in range(40)]
    for sk in written:
        store.put({"pk": pk, "sk": sk, "text": "w" * 30_000})
    page = store.query(pk, limit=40)
    assert sks(page) == written and not page.has_more
    page = store.query(pk, limit=39, order="desc")
    assert sks(page) == written[::-1][:39] and page.has_more


def test_a_100_item_page_is_one_round_trip(store, pk):
    msgs = fill(store, pk, "msg#", 120)

    def trips(**page) -> int:
        with RoundTrips(store) as sent:
            assert len(store.query(pk, "msg#", limit=100, **page).items) == 100
        return sent.count

    assert trips() == 1
    assert trips(order="desc") == 1
    assert trips(before=msgs[-1]) == 1
    assert trips(after=msgs[0], order="asc") == 1


def test_query_rejects_bad_pages(store, pk):
    for bad in ({"limit": 0}, {"limit": "5"}, {"order": "up"}, {"after": 5}):
        with pytest.raises(ValueError):
            store.query(pk, **bad)


def test_query_where_keeps_matching_items(store, pk):
    sks_all = [ids.new_id("x_") for _ in range(12)]
    for n, sk in enumerate(sks_all):
        item = {"pk": pk, "sk": sk, "status": "ok" if n % 3 == 0 else "no", "flag": n % 2 == 0, "n": n}
        if n % 4 != 1:
            item["maybe"] = None if n % 4 == 0 else "x"
        store.put(item)
    ok = store.query(pk, limit=2, where={"status": "ok"})
    assert [i["n"] for i in ok.items] == [0, 3] and ok.has_more
    ok = store.query(pk, limit=2, where={"status": "ok"}, after=sks_all[3])
    assert [i["n"] for i in ok.items] == [6, 9] and not ok.has_more
    both = store.query(pk, limit=10, where={"status": "ok", "flag": True}, order="desc")
    assert [i["n"] for i in both.items] == [6, 0] and not both.has_more
    assert [i["n"] for i in store.query(pk, limit=10, where={"n": 4}).items] == [4]
    assert store.query(pk, limit=10, where={"missing": "x"}).items == []
    none = store.query(pk, limit=20, where={"maybe": None})  # null or absent
    assert [i["n"] for i in none.items] == [n for n in range(12) if n % 4 in (0, 1)]


def test_query_index_lists_an_owners_items(store, pk):
    owner_a, owner_b = pk + "-a#file", pk + "-b#file"
    mine = []
    for n in range(5):
        for owner in (owner_a, owner_b):
            file_id = ids.new_id("file-")
            store.put({"pk": f"file#{file_id}", "sk": "meta", "gsi1pk": owner, "gsi1sk": file_id, "n": n})
            if owner == owner_a:
                mine.append(file_id)
    page = store.query_index(owner_a, limit=2)
    assert [i["gsi1sk"] for i in page.items] == mine[:2] and page.has_more
    assert all(i["gsi1pk"] == owner_a for i in page.items)
    page = store.query_index(owner_a, after=mine[1], limit=10)
    assert [i["gsi1sk"] for i in page.items] == mine[2:] and not page.has_more
    page = store.query_index(owner_a, limit=2, order="desc", before=mine[1])
    assert [i["gsi1sk"] for i in page.items] == [mine[3], mine[2]] and page.has_more
    page = store.query_index(owner_a, before=mine[4], limit=2)
    assert [i["gsi1sk"] for i in page.items] == mine[2:4] and page.has_more
    assert [i["n"] for i in store.query_index(owner_a, where={"n": 3}).items] == [3]
    assert store.query_index(pk + "-nobody#file").items == []
    # an item leaves the index when it is deleted
    store.delete(f"file#{mine[0]}", "meta")
    assert [i["gsi1sk"] for i in store.query_index(owner_a, limit=1).items] == [mine[1]]


def test_update_moves_an_item_in_the_index(store, pk):
    store.put({"pk": pk, "sk": "meta", "gsi1pk": pk + "#one", "gsi1sk": "1"})
    store.update(pk, "meta", set={"gsi1pk": pk + "#two"})
    assert store.query_index(pk + "#one").items == []
    assert [i["pk"] for i in store.query_index(pk + "#two").items] == [pk]


def test_delete_all(store, pk):
    fill(store, pk, "chunk#", 130)
    keep = fill(store, pk, "meta", 1)
    assert store.delete_all(pk, "chunk#") == 130
    assert sks(store.query(pk, limit=100)) == keep


def test_40_greenlets_appending_to_one_partition_lose_nothing(store, pk):
    def append(n):
        item = {"pk": pk, "sk": "msg#" + ids.new_id("msg_"), "n": n}
        store.put(item, condition=ABSENT)
        return item["sk"]

    jobs = [gevent.spawn(append, n) for n in range(40)]
    gevent.joinall(jobs, timeout=60, raise_error=True)
    written = sorted(job.value for job in jobs)
    page = store.query(pk, "msg#", limit=100)
    assert sks(page) == written and len(written) == 40 and not page.has_more


def test_20_racing_conditional_updates_exactly_one_wins(store, pk):
    store.put({"pk": pk, "sk": "run", "status": "queued"})
    go, seen_by = Event(), []

    def claim(n):
        seen = store.get(pk, "run")
        seen_by.append(n)
        if len(seen_by) == 20:
            go.set()  # every claimant read version 1: now they all write at once
        go.wait(30)
        try:
            store.update(pk, "run", set={"status": "in_progress", "owner": n}, expected_version=seen["version"])
            return True
        except ConditionFailed:
            return False

    jobs = [gevent.spawn(claim, n) for n in range(20)]
    gevent.joinall(jobs, timeout=60, raise_error=True)
    winners = [n for n, job in enumerate(jobs) if job.value]
    assert len(winners) == 1
    assert store.get(pk, "run") == {"pk": pk, "sk": "run", "status": "in_progress", "owner": winners[0], "version": 2}


def test_large_attributes_round_trip(backend, pk):
    """Attributes past DynamoDB's 400 KB item limit go to the blob store there, transparently."""
    name, store, blob_root = backend
    content = [{"type": "text", "text": "é" * 150_000}, {"type": "text", "text": "x" * 200_000}]
    tools = [{"type": "function", "function": {"name": f"f{n}", "description": "d" * 500}} for n in range(300)]
    store.put({"pk": pk, "sk": "msg#1", "content": content, "tools": tools, "role": "user"})
    assert store.get(pk, "msg#1") == {"pk": pk, "sk": "msg#1", "content": content, "tools": tools, "role": "user", "version": 1}
    if name == "dynamodb":
        assert blob_files(blob_root)  # the overflow lives in the blob store
    bigger = content + [{"type": "text", "text": "y" * 300_000}]
    store.update(pk, "msg#1", set={"content": bigger}, remove=["tools"])
    assert store.query(pk, "msg#", limit=5).items == [{"pk": pk, "sk": "msg#1", "content": bigger, "role": "user", "version": 2}]
    store.delete(pk, "msg#1")
    assert store.get(pk, "msg#1") is None
    assert blob_files(blob_root) == []  # replaced and deleted overflow is removed too


def test_many_medium_attributes_past_the_item_limit_round_trip(backend, pk):
    _, store, blob_root = backend
    item = {"pk": pk, "sk": "meta", **{f"part{n}": "m" * 30_000 for n in range(20)}}  # 600 KB in all
    store.put(item, condition=ABSENT)
    assert store.get(pk, "meta") == {**item, "version": 1}
    store.delete(pk, "meta")
    assert blob_files(blob_root) == []


def test_failed_writes_leave_no_overflow_behind(backend, pk):
    _, store, blob_root = backend
    big = "z" * 100_000
    store.put({"pk": pk, "sk": "a", "small": 1})
    with pytest.raises(ConditionFailed):
        store.put({"pk": pk, "sk": "a", "big": big}, condition=ABSENT)
    with pytest.raises(ConditionFailed):
        store.update(pk, "a", set={"big": big}, expected_version=7)
    with pytest.raises(ConditionFailed):
        store.transact([Put({"pk": pk, "sk": "b", "big": big}), Check(pk, "a", expected_version=7)])
    assert store.get(pk, "a") == {"pk": pk, "sk": "a", "small": 1, "version": 1}
    assert store.get(pk, "b") is None
    store.transact([Put({"pk": pk, "sk": "b", "big": big}), Check(pk, "a", expected_version=1)])
    assert store.get(pk, "b")["big"] == big
    store.delete(pk, "b")
    assert blob_files(blob_root) == []


def blob_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- one contract: what one backend refuses, every backend refuses -------------------------------


def test_an_update_that_would_split_the_owner_index_keys_is_refused_and_changes_nothing(store, pk):
    indexed = {"pk": pk, "sk": "indexed", "gsi1pk": pk + "#o", "gsi1sk": "1", "n": 0}
    plain = {"pk": pk, "sk": "plain", "n": 0}
    store.put(indexed)
    store.put(plain)
    for sk, change in [
        ("indexed", {"remove": ["gsi1pk"]}),
        ("indexed", {"remove": ["gsi1sk"], "set": {"n": 1}}),
        ("indexed", {"set": {"gsi1pk": pk + "#p"}, "remove": ["gsi1sk"]}),
        ("plain", {"set": {"gsi1pk": pk + "#o"}}),
        ("plain", {"set": {"gsi1sk": "2"}, "expected_version": 1}),
    ]:
        with pytest.raises(ValueError):
            store.update(pk, sk, **change)
        with pytest.raises(ValueError):
            store.transact([Put({"pk": pk, "sk": "new"}), Update(pk, sk, **change)])
    assert store.get(pk, "indexed") == {**indexed, "version": 1}
    assert store.get(pk, "plain") == {**plain, "version": 1}
    assert store.get(pk, "new") is None
    assert [i["sk"] for i in store.query_index(pk + "#o").items] == ["indexed"]
    with pytest.raises(ConditionFailed):  # a stale version is a lost race, whatever the update
        store.update(pk, "indexed", remove=["gsi1pk"], expected_version=5)
    # what leaves both keys or neither is fine
    assert "gsi1pk" not in store.update(pk, "plain", remove=["gsi1pk"])
    store.update(pk, "plain", set={"gsi1pk": pk + "#p", "gsi1sk": "2"})
    store.update(pk, "indexed", remove=["gsi1pk", "gsi1sk"], expected_version=1)
    assert store.query_index(pk + "#o").items == []
    assert [i["sk"] for i in store.query_index(pk + "#p").items] == ["plain"]


@pytest.mark.parametrize(
    "call",
    [
        lambda s, pk: s.get("", "a"),
        lambda s, pk: s.get(pk, ""),
        lambda s, pk: s.get(5, "a"),
        lambda s, pk: s.get(pk, "é" * 512 + "a"),  # 1025 bytes
        lambda s, pk: s.get("p" * 2049, "a"),
        lambda s, pk: s.delete(pk, ""),
        lambda s, pk: s.update(pk, "", set={"n": 1}),
        lambda s, pk: s.query(""),
        lambda s, pk: s.query(None),
        lambda s, pk: s.query_index(""),
        lambda s, pk: s.transact([Check(pk, "")]),
        lambda s, pk: s.transact([Delete("", "a")]),
        lambda s, pk: s.get(pk + "\ud800", "a"),
    ],
)
def test_malformed_keys_are_value_errors_everywhere(store, pk, call):
    with pytest.raises(ValueError):
        call(store, pk)


def test_key_sizes_are_dynamodbs_on_every_backend(store, pk):
    long_pk = pk + "p" * (2048 - len(pk))
    store.put({"pk": long_pk, "sk": "é" * 512, "gsi1pk": "o" * 2048, "gsi1sk": "s" * 1024})
    assert store.get(long_pk, "é" * 512)["gsi1sk"] == "s" * 1024
    assert store.delete(long_pk, "é" * 512)
    for bad in (
        {"pk": long_pk + "p", "sk": "a"},
        {"pk": pk, "sk": "é" * 512 + "a"},
        {"pk": pk, "sk": "a", "gsi1pk": "o" * 2049, "gsi1sk": "s"},
        {"pk": pk, "sk": "a", "gsi1pk": "o", "gsi1sk": "s" * 1025},
    ):
        with pytest.raises(ValueError):
            store.put(bad)
    store.put({"pk": pk, "sk": "a"})
    with pytest.raises(ValueError):
        store.update(pk, "a", set={"gsi1pk": "o", "gsi1sk": "s" * 1025})
    assert store.query(pk).items == [{"pk": pk, "sk": "a", "version": 1}]


def nested(depth: int):
    """A value of `depth` nested containers (lists and maps alternating)."""
    value: object = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


BAD_VALUES = {
    "nan": float("nan"),
    "infinity": float("-inf"),
    "float-too-large": 1e38,
    "float-too-small": 1e-131,
    "int-of-39-digits": 10**38,
    "set": {"a"},
    "bytes": b"x",
    "object": object(),
    "int-map-key": {1: "x"},
    "empty-map-key": {"": "x"},
    "lone-surrogate": "a\ud800",
    "nested-32-deep": nested(32),
}


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_values_no_backend_can_keep_are_value_errors_and_write_nothing(store, pk, bad):
    store.put({"pk": pk, "sk": "a", "n": 0})
    with pytest.raises(ValueError):
        store.put({"pk": pk, "sk": "b", "v": bad})
    with pytest.raises(ValueError):
        store.put({"pk": pk, "sk": "b", "v": {"in": [bad]}})
    with pytest.raises(ValueError):
        store.update(pk, "a", set={"v": bad})
    with pytest.raises(ValueError):
        store.transact([Update(pk, "a", set={"n": 1}), Put({"pk": pk, "sk": "b", "v": bad})])
    with pytest.raises(ValueError):
        store.put({"pk": pk, "sk": "b", 7: "x"} if bad == {1: "x"} else {"pk": pk, "sk": "b", "": bad})
    assert store.query(pk).items == [{"pk": pk, "sk": "a", "n": 0, "version": 1}]


def test_values_at_the_limits_round_trip(store, pk):
    values = {
        "deep": nested(31), "int38": 10**38 - 1, "neg38": -(10**38 - 1), "tiny": 1e-130, "huge": 9.99e37,
        "nul": "a\x00b", "astral": "𝄞", "tuple": (1, "a"),
    }
    store.put({"pk": pk, "sk": "a", **values})
    got = store.get(pk, "a")
    assert float(got.pop("huge")) == values.pop("huge")  # a whole float may come back as an int
    assert got == {"pk": pk, "sk": "a", "version": 1, **values, "tuple": [1, "a"]}
    assert [i["sk"] for i in store.query(pk, where={"int38": 10**38 - 1}).items] == ["a"]


@pytest.mark.parametrize("version", [True, "1", 1.0])
def test_expected_versions_are_ints(store, pk, version):
    store.put({"pk": pk, "sk": "a"})
    for call in (
        lambda: store.update(pk, "a", set={"n": 1}, expected_version=version),
        lambda: store.delete(pk, "a", expected_version=version),
        lambda: store.transact([Check(pk, "a", expected_version=version)]),
        lambda: store.put({"pk": pk, "sk": "a"}, condition=version),
    ):
        with pytest.raises(ValueError):
            call()
    assert store.get(pk, "a") == {"pk": pk, "sk": "a", "version": 1}


def test_an_update_op_without_set_is_a_plain_version_bump(store, pk):
    store.put({"pk": pk, "sk": "a", "n": 0})
    store.transact([Update(pk, "a", set=None, remove=["n"])])
    assert store.get(pk, "a") == {"pk": pk, "sk": "a", "version": 2}


def test_where_matches_a_value_of_its_own_json_type_only(store, pk):
    store.put({"pk": pk, "sk": "a", "flag": True, "n": 1, "list": [1], "map": {"a": 1}, "text": "1"})
    store.update(pk, "a", set={"x": 0})
    matches = lambda where: [i["sk"] for i in store.query(pk, where=where).items]  # noqa: E731
    assert matches({"flag": True}) == matches({"n": 1}) == matches({"n": 1.0}) == matches({"text": "1"}) == ["a"]
    for where in ({"flag": 1}, {"n": True}, {"text": 1}, {"n": "1"}, {"list": "[1]"}, {"map": '{"a":1}'}, {"flag": "true"}):
        assert matches(where) == [], where
    assert matches({"version": 2}) == ["a"] and matches({"version": 1}) == [] and matches({"version": True}) == []
    for bad in ({"n": float("nan")}, {"n": [1]}, {"bad-name": 1}, {5: 1}):
        with pytest.raises(ValueError):
            store.query(pk, where=bad)


def test_cursors_and_prefixes(store, pk):
    msgs = fill(store, pk, "msg#", 3)
    assert sks(store.query(pk, "msg#", after="")) == msgs  # "" sorts before every key
    assert sks(store.query(pk, "msg#", before="", order="desc")) == msgs[::-1]
    assert store.query(pk, "msg#", before="").items == []
    assert store.query(pk, "msg#", after="", order="desc").items == []
    assert sks(store.query(pk, after="é" * 512)) == []  # a cursor may be as long as a key
    assert sks(store.query(pk, before="é" * 512)) == msgs
    owner = pk + "#o"
    store.put({"pk": pk, "sk": "indexed", "gsi1pk": owner, "gsi1sk": "1"})
    assert [i["sk"] for i in store.query_index(owner, after="").items] == ["indexed"]
    for bad in (
        lambda: store.query(pk, after="x" * 1025),
        lambda: store.query(pk, "msg#", before="é" * 513),
        lambda: store.query_index(owner, after="x" * 1025),
        lambda: store.query(pk, 5),
        lambda: store.query(pk, "x" * 1025),
        lambda: store.query(pk, "msg\U0010ffff"),
        lambda: store.query(pk, where=["n"]),
    ):
        with pytest.raises(ValueError):
            bad()


# --- query_all ------------------------------------------------------------------------------------


@pytest.fixture
def small_pages(store, monkeypatch):
    """Make `query_all` read 3 items a page."""
    monkeypatch.setattr(store, "page_all", 3)
    return store


def test_query_all_walks_every_page_in_both_orders(small_pages, pk):
    store = small_pages
    msgs = fill(store, pk, "msg#", 10)
    fill(store, pk, "run#", 2)
    assert [i["sk"] for i in store.query_all(pk, "msg#")] == msgs
    assert [i["sk"] for i in store.query_all(pk, "msg#", order="desc")] == msgs[::-1]
    assert [i["n"] for i in store.query_all(pk, "msg#", where={"n": 7})] == [7]
    assert len(list(store.query_all(pk))) == 12
    assert list(store.query_all(pk, "none#")) == []


def test_query_all_walks_the_owner_index(small_pages, pk):
    store = small_pages
    owner = pk + "#file"
    mine = [ids.new_id("file-") for _ in range(8)]
    for n, file_id in enumerate(mine):
        store.put({"pk": f"file#{file_id}", "sk": "meta", "gsi1pk": owner, "gsi1sk": file_id, "even": n % 2 == 0})
    assert [i["gsi1sk"] for i in store.query_all(owner, index=True)] == mine
    assert [i["gsi1sk"] for i in store.query_all(owner, index=True, order="desc")] == mine[::-1]
    assert [i["gsi1sk"] for i in store.query_all(owner, index=True, where={"even": True})] == mine[::2]
    with pytest.raises(ValueError):
        list(store.query_all(owner, "x", index=True))


def test_query_all_survives_deleting_what_it_yielded(small_pages, pk):
    store = small_pages
    msgs = fill(store, pk, "msg#", 10)
    seen = []
    for item in store.query_all(pk, "msg#"):
        seen.append(item["sk"])
        store.delete(pk, item["sk"])
    assert seen == msgs and store.query(pk).items == []
    fill(store, pk, "chunk#", 7)
    assert store.delete_all(pk, "chunk#") == 7 and store.query(pk).items == []


def test_query_all_pages_by_1000(store, pk):
    written = [f"x#{n:05d}" for n in range(1001)]
    for start in range(0, len(written), 100):
        store.transact([Put({"pk": pk, "sk": sk, "n": n}, ABSENT) for n, sk in enumerate(written[start:start + 100], start)])
    pages = []
    query = store.query
    try:
        store.query = lambda *a, **k: pages.append(k["limit"]) or query(*a, **k)
        assert [i["sk"] for i in store.query_all(pk, "x#", order="desc")] == written[::-1]
    finally:
        del store.query
    assert pages == [1000, 1000]
    assert store.delete_all(pk) == 1001
