"""Two API keys: each client sees only its own assistants, threads and messages; the other's ids are 404s."""

from __future__ import annotations

import pytest

from tests.web.assistant_support import DEPRECATION
from tests.web.support import KEY_A, KEY_B, api

pytestmark = pytest.mark.filterwarnings(DEPRECATION)


@pytest.fixture(scope="module")
def owned(assistants_service):
    """An assistant, a thread with a message, a file and a vector store of client A."""
    assistant = api(assistants_service, "POST", "/assistants", json={"model": "m", "name": "private"}).json()
    thread = api(assistants_service, "POST", "/threads", json={"messages": [{"role": "user", "content": "secret"}]}).json()
    message = api(assistants_service, "GET", f"/threads/{thread['id']}/messages").json()["data"][0]
    upload = api(assistants_service, "POST", "/files", files={"file": ("a.txt", b"a")}, data={"purpose": "assistants"})
    store = api(assistants_service, "POST", "/vector_stores", json={}).json()
    return {"asst": assistant["id"], "thread": thread["id"], "msg": message["id"], "file": upload.json()["id"],
            "vs": store["id"]}


def unknown_like(value: str) -> str:
    """Return a well-formed id of the same kind that nobody has."""
    return value[:-4] + ("zzzz" if not value.endswith("zzzz") else "yyyy")


ROUTES = [
    ("GET", "/assistants/{asst}"), ("POST", "/assistants/{asst}"), ("DELETE", "/assistants/{asst}"),
    ("GET", "/threads/{thread}"), ("POST", "/threads/{thread}"), ("DELETE", "/threads/{thread}"),
    ("GET", "/threads/{thread}/messages"), ("POST", "/threads/{thread}/messages"),
    ("GET", "/threads/{thread}/messages/{msg}"), ("POST", "/threads/{thread}/messages/{msg}"),
    ("DELETE", "/threads/{thread}/messages/{msg}"),
]


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_another_clients_ids_look_unknown(assistants_service, owned, method, path):
    body = {"role": "user", "content": "x", "metadata": {"k": "v"}}
    theirs = api(assistants_service, method, path.format(**owned), key=KEY_B, json=body)
    unknown = {k: unknown_like(v) for k, v in owned.items()}
    nobodys = api(assistants_service, method, path.format(**unknown), key=KEY_B, json=body)
    assert theirs.status_code == nobodys.status_code == 404
    mask = {owned[k]: unknown[k] for k in owned}
    text = theirs.text
    for real, fake in mask.items():
        text = text.replace(real, fake)
    assert text == nobodys.text
    # and the owner still has everything untouched
    assert api(assistants_service, "GET", f"/assistants/{owned['asst']}").json()["metadata"] == {}
    messages = api(assistants_service, "GET", f"/threads/{owned['thread']}/messages").json()["data"]
    assert [m["id"] for m in messages] == [owned["msg"]] and messages[0]["metadata"] == {}


def test_lists_hold_only_the_callers_objects(assistants_service, owned, sdk_for):
    mine = sdk_for(KEY_B).beta.assistants.create(model="m", name="b's")
    listed_b = [a.id for a in sdk_for(KEY_B).beta.assistants.list(limit=100)]
    assert mine.id in listed_b and owned["asst"] not in listed_b
    listed_a = [a.id for a in sdk_for(KEY_A).beta.assistants.list(limit=100)]
    assert owned["asst"] in listed_a and mine.id not in listed_a


def test_another_clients_files_and_stores_in_bodies_are_404(assistants_service, owned):
    bodies = [
        ("/assistants", {"model": "m", "tool_resources": {"file_search": {"vector_store_ids": [owned["vs"]]}}}),
        ("/assistants", {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": [owned["file"]]}}}),
        ("/threads", {"messages": [{"role": "user", "content": "x", "attachments": [{"file_id": owned["file"], "tools": []}]}]}),
    ]
    for path, body in bodies:
        assert api(assistants_service, "POST", path, key=KEY_B, json=body).status_code == 404
        assert api(assistants_service, "POST", path, key=KEY_A, json=body).status_code == 200


def test_a_missing_or_wrong_key_is_401(assistants_service, owned):
    assert api(assistants_service, "GET", f"/assistants/{owned['asst']}", key="wrong").status_code == 401
    assert api(assistants_service, "GET", "/assistants", key="").status_code == 401
