"""Files and vector stores end-to-end: the official openai SDK against gunicorn+gevent.

Runs on both backends (tests/conftest.py `BACKENDS`): SQLite + a folder, and DynamoDB Local + moto's S3 server.
Embeddings come from the scripted upstream; objects are checked against the spec's schemas.
"""

import openai
import pytest

from tests.conftest import BACKENDS, backend_env
from tests.pdf import make_pdf
from tests.schema import assert_schema
from tests.servers import wait_until
from tests.web.run_support import SDK_DEPRECATIONS
from tests.web.support import api

pytestmark = SDK_DEPRECATIONS  # the file_search run goes through sdk.beta.assistants / threads

PLANTED = "The vault code for the north tower is 7741."
FILLER = " ".join(f"Paragraph {i} talks about gardens, rivers and the weather in spring." for i in range(400))
MAX_FILE_BYTES = 300_000


@pytest.fixture(scope="module", params=BACKENDS)
def service(request, start_session_service, upstream):
    """The service on one backend: SQLite and a folder, or DynamoDB Local and moto's S3."""
    env = {"UPSTREAM_BASE_URL": upstream.base_url, "EMBEDDING_MODEL": "scripted-embedding",
           "MAX_FILE_BYTES": str(MAX_FILE_BYTES), **backend_env(request, request.param, s3_blobs=True)}
    return start_session_service(env=env)


@pytest.fixture(scope="module")
def sdk(service):
    with openai.OpenAI(base_url=service.url("/v1"), api_key="sk-test", max_retries=0) as opened:
        yield opened  # closed with the module: its pooled sockets must not outlive it


def poll_store(sdk, vs_id, status="completed"):
    return wait_until(lambda: (vs := sdk.vector_stores.retrieve(vs_id)).status == status and vs,
                      timeout=30, what=f"vector store {status}")


def test_upload_ingest_search_and_delete_cascade(sdk, service):
    txt_bytes = (FILLER + " " + PLANTED + " " + FILLER).encode()
    txt = sdk.files.create(file=("notes.txt", txt_bytes), purpose="assistants")
    pdf = sdk.files.create(file=("manual.pdf", make_pdf(["Oil the hinges every month.", "Never paint doors."])),
                           purpose="assistants")
    assert_schema(txt.model_dump(exclude_unset=True), "OpenAIFile")
    assert (txt.bytes, txt.filename, txt.purpose) == (len(txt_bytes), "notes.txt", "assistants")
    assert sdk.files.content(txt.id).read() == txt_bytes

    vs = sdk.vector_stores.create(name="docs", file_ids=[txt.id, pdf.id], metadata={"team": "a"})
    assert_schema(vs.model_dump(exclude_unset=True), "VectorStoreObject")
    vs = poll_store(sdk, vs.id)
    assert vs.file_counts.completed == 2 and vs.usage_bytes > 0 and vs.metadata == {"team": "a"}

    results = sdk.vector_stores.search(vs.id, query="What is the vault code of the north tower?")
    assert_schema(results.model_dump(exclude_unset=True), "VectorStoreSearchResultsPage")
    first = results.data[0]
    assert first.file_id == txt.id and first.filename == "notes.txt" and PLANTED in first.content[0].text
    hinges = sdk.vector_stores.search(vs.id, query="oil the hinges", max_num_results=1)
    assert [r.file_id for r in hinges.data] == [pdf.id]

    listed = sdk.vector_stores.files.list(vs.id, filter="completed")
    assert {f.id for f in listed.data} == {txt.id, pdf.id}
    assert_schema(listed.data[0].model_dump(exclude_unset=True), "VectorStoreFileObject")
    content = sdk.vector_stores.files.content(file_id=pdf.id, vector_store_id=vs.id)
    assert "Oil the hinges" in " ".join(part.text for part in content)

    deleted = sdk.files.delete(txt.id)
    assert_schema(deleted.model_dump(exclude_unset=True), "DeleteFileResponse")
    assert sdk.vector_stores.retrieve(vs.id).file_counts.total == 1
    assert all(r.file_id != txt.id for r in sdk.vector_stores.search(vs.id, query="vault code north tower").data)
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(txt.id)
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.files.retrieve(file_id=txt.id, vector_store_id=vs.id)

    gone = sdk.vector_stores.delete(vs.id)
    assert_schema(gone.model_dump(exclude_unset=True), "DeleteVectorStoreResponse")
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.search(vs.id, query="hinges")


def test_bad_uploads_get_clear_errors_and_leave_nothing(sdk, service):
    before = {f.id for f in sdk.files.list()}
    with pytest.raises(openai.BadRequestError) as info:
        sdk.files.create(file=("empty.txt", b""), purpose="assistants")
    assert info.value.body["param"] == "file"
    with pytest.raises(openai.BadRequestError) as info:
        sdk.files.create(file=("a.txt", b"words"), purpose="nonsense")
    assert info.value.body["param"] == "purpose"
    with pytest.raises(openai.APIStatusError) as info:
        sdk.files.create(file=("big.txt", b"x" * (MAX_FILE_BYTES + 1)), purpose="assistants")
    assert info.value.status_code == 413 and info.value.body["code"] == "request_too_large"
    with pytest.raises(openai.APIStatusError) as info:  # far past the limit: refused before it is read
        sdk.files.create(file=("huge.txt", b"x" * (4 * MAX_FILE_BYTES)), purpose="assistants")
    assert info.value.status_code == 413
    assert {f.id for f in sdk.files.list()} == before

    broken = sdk.files.create(file=("broken.pdf", b"%PDF-1.4 not really a pdf"), purpose="assistants")
    vs = sdk.vector_stores.create(file_ids=[broken.id])
    vs = wait_until(lambda: (v := sdk.vector_stores.retrieve(vs.id)).file_counts.failed == 1 and v, timeout=30)
    assert vs.status == "completed" and vs.file_counts.completed == 0
    vsf = sdk.vector_stores.files.retrieve(file_id=broken.id, vector_store_id=vs.id)
    assert vsf.status == "failed" and vsf.last_error.code == "unsupported_file"
    assert sdk.vector_stores.search(vs.id, query="pdf").data == []


def test_listing_files_by_purpose_with_pages(sdk):
    made = [sdk.files.create(file=(f"p{i}.txt", b"page %d" % i), purpose="user_data").id for i in range(3)]
    page = sdk.files.list(purpose="user_data", limit=2, order="asc")
    ids = [f.id for f in page.data]
    assert page.has_more and ids == made[:2]
    rest = sdk.files.list(purpose="user_data", limit=2, order="asc", after=ids[-1])
    assert [f.id for f in rest.data] == made[2:] and not rest.has_more
    assert all(f.purpose == "user_data" for f in sdk.files.list(purpose="user_data"))
    newest = sdk.files.list(purpose="user_data", limit=1)
    assert newest.data[0].id == made[-1]


def test_batches_filters_and_validation(sdk, service):
    a = sdk.files.create(file=("a.md", b"# Apples\nRed apples grow in the orchard."), purpose="assistants")
    b = sdk.files.create(file=("b.html", b"<p>Green pears ripen in autumn.</p>"), purpose="assistants")
    c = sdk.files.create(file=("c.bin", b"\x00\x01binary"), purpose="assistants")
    vs = sdk.vector_stores.create(name="fruit", chunking_strategy={"type": "static", "static": {
        "max_chunk_size_tokens": 200, "chunk_overlap_tokens": 100}})
    batch = sdk.vector_stores.file_batches.create_and_poll(vector_store_id=vs.id, file_ids=[a.id, b.id, c.id],
                                                            poll_interval_ms=100)
    assert batch.status == "completed"
    assert_schema(batch.model_dump(exclude_unset=True), "VectorStoreFileBatchObject")
    for path, component in [("/vector_stores", "ListVectorStoresResponse"), (f"/vector_stores/{vs.id}/files", "ListVectorStoreFilesResponse"),
                            ("/files", "ListFilesResponse"), (f"/vector_stores/{vs.id}/files/{a.id}/content", "VectorStoreFileContentResponse")]:
        assert_schema(api(service, "GET", path).json(), component)
    assert (batch.file_counts.completed, batch.file_counts.failed, batch.file_counts.total) == (2, 1, 3)
    failed = sdk.vector_stores.file_batches.list_files(batch_id=batch.id, vector_store_id=vs.id, filter="failed")
    assert [f.id for f in failed.data] == [c.id]
    attached = sdk.vector_stores.files.create(vector_store_id=vs.id, file_id=a.id)
    assert attached.status == "completed"  # already in the store: returned as it is

    attributes = {"season": "autumn", "weight": 0.25, "ripe": True}
    updated = sdk.vector_stores.files.update(file_id=b.id, vector_store_id=vs.id, attributes=attributes)
    assert updated.attributes == attributes
    both = "red apples and green pears"
    found = sdk.vector_stores.search(vs.id, query=both, filters={"type": "eq", "key": "season", "value": "autumn"})
    assert {r.file_id for r in found.data} == {b.id} and found.data[0].attributes == attributes
    compound = {"type": "and", "filters": [{"type": "gte", "key": "weight", "value": 0.2},
                                           {"type": "eq", "key": "ripe", "value": True}]}
    assert {r.file_id for r in sdk.vector_stores.search(vs.id, query=both, filters=compound).data} == {b.id}

    removed = sdk.vector_stores.files.delete(file_id=a.id, vector_store_id=vs.id)
    assert_schema(removed.model_dump(exclude_unset=True), "DeleteVectorStoreFileResponse")
    assert all(r.file_id != a.id for r in sdk.vector_stores.search(vs.id, query="red apples orchard").data)
    assert sdk.files.retrieve(a.id).id == a.id  # the file itself stays
    assert sdk.vector_stores.retrieve(vs.id).file_counts.total == 2

    renamed = sdk.vector_stores.update(vs.id, name="orchard", expires_after={"anchor": "last_active_at", "days": 2})
    assert renamed.name == "orchard" and renamed.expires_at == renamed.last_active_at + 2 * 86400
    assert sdk.vector_stores.update(vs.id, expires_after=None).expires_at is None

    bad = [
        ("/vector_stores", {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200,
                                                                               "chunk_overlap_tokens": 101}}}),
        ("/vector_stores", {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 99,
                                                                               "chunk_overlap_tokens": 0}}}),
        ("/vector_stores", {"metadata": {f"k{i}": "v" for i in range(17)}}),
        (f"/vector_stores/{vs.id}/search", {"query": "x", "max_num_results": 51}),
        (f"/vector_stores/{vs.id}/search", {}),
        (f"/vector_stores/{vs.id}/file_batches", {"file_ids": []}),
    ]
    for path, body in bad:
        response = api(service, "POST", path, json=body)
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()["error"]["type"] == "invalid_request_error"
    missing = api(service, "POST", f"/vector_stores/{vs.id}/files", json={"file_id": "file-unknown"})
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "file_id"


def test_api_prefix_serves_the_same_routes(service):
    response = api(service, "GET", "/vector_stores", prefix="/api/v1")
    assert response.status_code == 200 and response.json()["object"] == "list"


def test_assistant_answers_from_its_files_with_a_citation(sdk, upstream):
    marker = upstream.marker()
    doc = sdk.files.create(file=("vault.txt", (FILLER + " " + PLANTED).encode()), purpose="assistants")
    other = sdk.files.create(file=("towers.txt", b"The south tower has a red roof."), purpose="assistants")
    vs = sdk.vector_stores.create(name="vault docs", file_ids=[doc.id])
    poll_store(sdk, vs.id)
    assistant = sdk.beta.assistants.create(
        model="gpt-4o", name="Keeper", instructions="Answer from the files.", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    # the thread brings a store of its own: both are searched
    thread = sdk.beta.threads.create(tool_resources={"file_search": {"vector_stores": [{"file_ids": [other.id]}]}})
    thread_vs = thread.tool_resources.file_search.vector_store_ids[0]
    poll_store(sdk, thread_vs)
    sdk.beta.threads.messages.create(thread.id, role="user", content=f"What is the vault code of the north tower? {marker}")
    upstream.script(
        {"tool_calls": [{"name": "file_search", "arguments": {"query": "vault code north tower"}}]},
        {"content": 'The code is 7741 [1]. The file says "vault code for the north tower is 7741".'},
        match=marker,
    )
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "completed", run.last_error

    # the model was given the planted chunk as source [1]
    second = upstream.requests(match=marker)[-1]["body"]
    tool_message = next(m for m in second["messages"] if m["role"] == "tool")
    assert tool_message["content"].index("[1] vault.txt") < tool_message["content"].index(PLANTED)

    answer = sdk.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert_schema(answer.model_dump(exclude_unset=True), "MessageObject")
    text = answer.content[0].text
    cited = [(a.type, a.file_citation.file_id, text.value[a.start_index:a.end_index]) for a in text.annotations]
    assert cited == [("file_citation", doc.id, "[1]"), ("file_citation", doc.id, "vault code for the north tower is 7741")]

    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "file_search" and call.file_search.results[0].file_id == doc.id
    assert call.file_search.results[0].content is None  # contents only when asked for
    assert {r.file_id for r in call.file_search.results} == {doc.id, other.id}
    full = sdk.beta.threads.runs.steps.retrieve(
        steps[0].id, thread_id=thread.id, run_id=run.id, include=["step_details.tool_calls[*].file_search.results[*].content"])
    assert_schema(full.model_dump(exclude_unset=True), "RunStepObject")
    assert PLANTED in full.step_details.tool_calls[0].file_search.results[0].content[0].text

    # streamed, the completed message carries the same citations
    again = upstream.marker()
    sdk.beta.threads.messages.create(thread.id, role="user", content=f"And once more? {again}")
    upstream.script({"tool_calls": [{"name": "file_search", "arguments": {"query": "vault code"}}]},
                    {"content": "Still 7741 [1]."}, match=again)
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        done = stream.get_final_messages()[-1]
    assert [(a.file_citation.file_id, a.text) for a in done.content[0].text.annotations] == [(doc.id, "[1]")]


def test_embedding_failures_fail_ingestion_but_not_search(sdk, upstream):
    marker = upstream.marker()
    good = sdk.files.create(file=("good.txt", b"Copper kettles whistle loudly."), purpose="assistants")
    vs = sdk.vector_stores.create(file_ids=[good.id])
    poll_store(sdk, vs.id)
    upstream.script({"status": 500}, match=marker, repeat=True)  # every embedding of text with the marker fails
    bad = sdk.files.create(file=("bad.txt", f"Tin kettles {marker} rattle.".encode()), purpose="assistants")
    sdk.vector_stores.files.create(vector_store_id=vs.id, file_id=bad.id)
    wait_until(lambda: sdk.vector_stores.retrieve(vs.id).file_counts.failed == 1, timeout=30)
    vsf = sdk.vector_stores.files.retrieve(file_id=bad.id, vector_store_id=vs.id)
    assert vsf.status == "failed" and vsf.last_error.code == "server_error"
    # a query the upstream cannot embed is still answered, by keywords
    found = sdk.vector_stores.search(vs.id, query=f"copper kettles {marker}")
    assert [r.file_id for r in found.data] == [good.id]


def test_counts_stay_exact_under_concurrent_ingestion(sdk):
    ids = [sdk.files.create(file=(f"n{i}.txt", f"note {i} about topic{i}".encode()), purpose="assistants").id
           for i in range(30)]
    vs = sdk.vector_stores.create(name="many")
    batch = sdk.vector_stores.file_batches.create(vector_store_id=vs.id, file_ids=ids[:15])
    for file_id in ids[15:]:  # added while the batch ingests: two workers, several greenlets each
        sdk.vector_stores.files.create(vector_store_id=vs.id, file_id=file_id)
    vs = poll_store(sdk, vs.id)
    assert (vs.file_counts.completed, vs.file_counts.total, vs.file_counts.in_progress) == (30, 30, 0)
    assert sdk.vector_stores.file_batches.retrieve(batch.id, vector_store_id=vs.id).file_counts.completed == 15
    assert [r.file_id for r in sdk.vector_stores.search(vs.id, query="topic17").data] == [ids[17]]


def test_files_attached_to_a_message_are_searched_by_the_run(sdk, upstream):
    marker = upstream.marker()
    memo = sdk.files.create(file=("memo.txt", b"The board meeting moved to Thursday at noon."), purpose="assistants")
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    thread = sdk.beta.threads.create(messages=[{
        "role": "user", "content": f"When is the board meeting? {marker}",
        "attachments": [{"file_id": memo.id, "tools": [{"type": "file_search"}]}],
    }])
    upstream.script({"tool_calls": [{"name": "file_search", "arguments": {"query": "board meeting"}}]},
                    {"content": "Thursday at noon [1]."}, match=marker)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "completed", run.last_error
    answer = sdk.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert [a.file_citation.file_id for a in answer.content[0].text.annotations] == [memo.id]


def test_a_response_searches_vector_stores_and_cites_files(sdk, upstream, service):
    doc = sdk.files.create(file=("vault.txt", (FILLER + " " + PLANTED).encode()), purpose="assistants")
    tagged = sdk.files.create(file=("towers.txt", b"The north tower vault code used to be 1234."), purpose="assistants")
    vs = sdk.vector_stores.create(name="response docs", file_ids=[doc.id])
    sdk.vector_stores.files.create(vector_store_id=vs.id, file_id=tagged.id, attributes={"year": 2019})
    poll_store(sdk, vs.id)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "file_search", "arguments": {"query": "vault code north tower"}}]},
                    {"content": 'The code is 7741 [1]. It reads "vault code for the north tower is 7741".'},
                    match=marker)
    tool = {"type": "file_search", "vector_store_ids": [vs.id], "max_num_results": 3,
            "filters": {"type": "ne", "key": "year", "value": 2019}}
    response = sdk.responses.create(model="m", input=f"Vault code? {marker}", tools=[tool],
                                    include=["file_search_call.results"])

    assert response.status == "completed", response.error
    call, message = response.output
    assert (call.type, call.status, call.queries) == ("file_search_call", "completed", ["vault code north tower"])
    assert call.results and {r.file_id for r in call.results} == {doc.id}  # the filter kept the 2019 file out
    assert PLANTED in call.results[0].text and call.results[0].filename == "vault.txt"
    annotations = message.content[0].annotations
    assert [(a.type, a.file_id, a.filename) for a in annotations] == [("file_citation", doc.id, "vault.txt")] * 2
    assert message.content[0].text[annotations[0].index:].startswith("[1]")
    raw = api(service, "GET", f"/responses/{response.id}").json()
    assert_schema(raw, "Response")
    second = upstream.requests(match=marker)[-1]["body"]
    assert second["tools"][0]["function"]["name"] == "file_search"
    assert PLANTED in next(m for m in second["messages"] if m["role"] == "tool")["content"]

    again = upstream.marker()
    upstream.script({"tool_calls": [{"name": "file_search", "arguments": {"query": "vault"}}]},
                    {"content": "Still 7741 [1]."}, match=again)
    with sdk.responses.stream(model="m", input=f"Again? {again}", tools=[tool]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert ["response.file_search_call.in_progress", "response.file_search_call.searching",
            "response.file_search_call.completed"] == [k for k in kinds if k.startswith("response.file_search_call")]
    assert "response.output_text.annotation.added" in kinds and final.output[0].results is None  # not included
    with pytest.raises(openai.NotFoundError) as unknown:
        sdk.responses.create(model="m", input="x", tools=[{"type": "file_search", "vector_store_ids": ["vs_nope"]}])
    assert unknown.value.body["param"] == "tools[0].vector_store_ids[0]"
