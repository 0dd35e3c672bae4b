"""The file_search tool of runs: the stores in scope, numbered sources, citations, waiting for ingestion."""

import json

import gevent

from askservice.services.engine.tools import ToolContext
from tests.services.file_search.support import FILLER, PLANTED, expire, ingest_all, upload


def test_file_search_tool_searches_the_run_stores_and_cites(fs):
    f = upload(fs, "vault.txt", (FILLER + " " + PLANTED).encode())
    g = upload(fs, "other.txt", b"The south tower has no vault.")
    mine = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    thread_vs = fs.vector_stores.create("alice", None, [g["id"]], None, None, None)
    foreign = fs.vector_stores.create("bob", None, [], None, None, None)
    ingest_all(fs)
    tool = fs.tool
    context = ToolContext(
        owner="alice", run={"id": "run_x"}, tool={"type": "file_search", "file_search": {"max_num_results": 2}},
        assistant_tool_resources={"file_search": {"vector_store_ids": [mine["id"], foreign["id"]]}},
        thread_tool_resources={"file_search": {"vector_store_ids": [thread_vs["id"]]}},
    )
    assert tool.definition(context)["function"]["name"] == "file_search"
    result = tool.execute(context, json.dumps({"query": "vault code north tower"}))
    hits = result.details["results"]
    assert len(hits) == 2 and hits[0]["file_id"] == f["id"] and PLANTED in hits[0]["content"][0]["text"]
    assert {h["file_id"] for h in hits} == {f["id"], g["id"]}
    assert result.details["ranking_options"] == {"ranker": "default_2024_08_21", "score_threshold": 0.0}
    assert "[1] vault.txt" in result.output and PLANTED in result.output
    answer = "The code is 7741 [1]."
    notes = tool.annotations(answer, [{"results": []}, result.details])
    assert notes == [{"type": "file_citation", "text": "[1]", "file_citation": {"file_id": f["id"]},
                      "start_index": 17, "end_index": 20}]
    assert tool.execute(context, "not json")  # a raw query still searches


def test_file_search_waits_for_files_still_being_ingested(fs):
    f = upload(fs, "late.txt", PLANTED.encode())
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    context = ToolContext(owner="alice", run={"id": "run_x"}, tool={"type": "file_search"},
                          thread_tool_resources={"file_search": {"vector_store_ids": [vs["id"]]}})
    later = gevent.spawn_later(0.3, ingest_all, fs)  # the worker that ingests it is busy for a moment
    result = fs.tool.execute(context, json.dumps({"query": "vault code"}))
    assert later.dead and [r["file_id"] for r in result.details["results"]] == [f["id"]]


def test_file_search_skips_expired_stores_without_waiting_for_them(fs):
    f = upload(fs, "vault.txt", PLANTED.encode())
    g = upload(fs, "south.txt", b"The south tower vault has no code.")
    old = fs.vector_stores.create("alice", None, [f["id"]], None, {"anchor": "last_active_at", "days": 1}, None)
    live = fs.vector_stores.create("alice", None, [g["id"]], None, None, None)
    ingest_all(fs)
    fs.vector_stores.add_file("alice", old["id"], upload(fs, "late.txt", b"vault")["id"], None, None)
    expire(fs.store, old["id"])  # expired with a file still in progress: nothing will ingest it
    context = ToolContext(owner="alice", run={"id": "run_x"}, tool={"type": "file_search"},
                          assistant_tool_resources={"file_search": {"vector_store_ids": [old["id"]]}},
                          thread_tool_resources={"file_search": {"vector_store_ids": [live["id"]]}})
    waits = gevent.spawn(fs.tool.execute, context, json.dumps({"query": "vault code"}))
    waits.join(timeout=5)  # a store in progress would hold the search for INGEST_WAIT (30 s)
    finished = waits.ready()
    waits.kill()
    assert finished, "the search waited for the expired store"
    assert [r["file_id"] for r in waits.value.details["results"]] == [g["id"]]
