"""Expired vector stores over HTTP, on both backends: search and new files are refused, runs skip them.

`expires_after.days` is at least 1, so the tests move a store's `last_active_at` back in its store."""

import openai
import pytest

from tests.servers import wait_until
from tests.services.file_search.support import expire
from tests.web.run_support import SDK_DEPRECATIONS
from tests.web.support import api, sdk_on

pytestmark = SDK_DEPRECATIONS
ONE_DAY = {"anchor": "last_active_at", "days": 1}
SEARCH = {"type": "file_search"}


@pytest.fixture
def sdk(runs_service):
    return sdk_on(runs_service)


@pytest.fixture
def store(runs_service):
    opened = runs_service.open_store()
    yield opened
    opened.close()


def _ready(sdk, vs_id):
    wait_until(lambda: sdk.vector_stores.retrieve(vs_id).status == "completed", timeout=30, what="store completed")


def _upload(sdk, name, text):
    return sdk.files.create(file=(name, text.encode()), purpose="assistants")


def test_an_expired_store_answers_400_to_search_and_to_new_files(runs_service, sdk, store):
    doc = _upload(sdk, "vault.txt", "The vault code for the north tower is 7741.")
    other = _upload(sdk, "south.txt", "The south tower vault has no code.")
    vs = sdk.vector_stores.create(file_ids=[doc.id], expires_after=ONE_DAY)
    _ready(sdk, vs.id)
    assert sdk.vector_stores.search(vs.id, query="vault code").data
    expire(store, vs.id)
    got = sdk.vector_stores.retrieve(vs.id)
    assert got.status == "expired" and got.expires_at == got.last_active_at + 86400
    refused = [
        api(runs_service, "POST", f"/vector_stores/{vs.id}/search", json={"query": "vault code"}),
        api(runs_service, "POST", f"/vector_stores/{vs.id}/files", json={"file_id": other.id}),
        api(runs_service, "POST", f"/vector_stores/{vs.id}/file_batches", json={"file_ids": [other.id]}),
    ]
    for response in refused:
        error = response.json()["error"]
        assert response.status_code == 400 and error["type"] == "invalid_request_error", response.text
        assert error["param"] == "vector_store_id" and "has expired" in error["message"]
    with pytest.raises(openai.BadRequestError):
        sdk.vector_stores.search(vs.id, query="vault code")
    after = sdk.vector_stores.retrieve(vs.id)
    assert after.status == "expired" and after.file_counts.total == 1
    assert store.query(f"vs#{vs.id}", "batch#").items == []  # no batch was half-made


def test_runs_skip_an_expired_store_and_attachments_get_a_new_one(runs_service, sdk, store, upstream):
    marker = upstream.marker()
    doc = _upload(sdk, "vault.txt", "The vault code for the north tower is 7741.")
    south = _upload(sdk, "south.txt", "The south tower vault has no code.")
    old = sdk.vector_stores.create(file_ids=[doc.id], expires_after=ONE_DAY)
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[SEARCH],
                                           tool_resources={"file_search": {"vector_store_ids": [old.id]}})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"The vault code? {marker}",
                                                "attachments": [{"file_id": south.id, "tools": [SEARCH]}]}])
    (thread_vs,) = thread.tool_resources.file_search.vector_store_ids
    _ready(sdk, old.id)
    _ready(sdk, thread_vs)
    expire(store, old.id)
    upstream.script({"tool_calls": [{"name": "file_search", "arguments": {"query": "vault code"}}]},
                    {"content": "There is none [1]."}, match=marker)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "completed", run.last_error
    step = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data[0]
    assert [r.file_id for r in step.step_details.tool_calls[0].file_search.results] == [south.id]
    assert sdk.vector_stores.retrieve(old.id).status == "expired"  # the run did not revive it

    expire(store, thread_vs, days_ago=8)  # a thread's own store expires 7 days after its last use
    sdk.beta.threads.messages.create(thread.id, role="user", content="And this file?",
                                     attachments=[{"file_id": doc.id, "tools": [SEARCH]}])
    (fresh,) = sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
    assert fresh != thread_vs and sdk.vector_stores.retrieve(fresh).status != "expired"
