"""Pages of assistants and messages: both orders, `after` and `before` cursors, the SDK's auto-paging."""

from __future__ import annotations

import pytest

from tests.web.assistant_support import DEPRECATION
from tests.web.support import api

pytestmark = pytest.mark.filterwarnings(DEPRECATION)


def page(service, path: str, **query) -> dict:
    answer = api(service, "GET", path, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids_of(body: dict) -> list[str]:
    assert body["object"] == "list"
    ids = [item["id"] for item in body["data"]]
    assert (body["first_id"], body["last_id"]) == ((ids[0], ids[-1]) if ids else (None, None))
    return ids


@pytest.fixture(scope="module")
def thread(assistants_service):
    """A thread of seven messages m0..m6 (initial messages keep their order)."""
    body = {"messages": [{"role": "user", "content": f"m{i}"} for i in range(7)]}
    thread_id = api(assistants_service, "POST", "/threads", json=body).json()["id"]
    ids = ids_of(page(assistants_service, f"/threads/{thread_id}/messages", order="asc"))
    return thread_id, ids


def test_message_pages_ascending(assistants_service, thread):
    thread_id, m = thread
    path = f"/threads/{thread_id}/messages"
    first = page(assistants_service, path, order="asc", limit=3)
    assert (ids_of(first), first["has_more"]) == (m[0:3], True)
    second = page(assistants_service, path, order="asc", limit=3, after=first["last_id"])
    assert (ids_of(second), second["has_more"]) == (m[3:6], True)
    last = page(assistants_service, path, order="asc", limit=3, after=second["last_id"])
    assert (ids_of(last), last["has_more"]) == (m[6:], False)
    back = page(assistants_service, path, order="asc", limit=3, before=second["first_id"])
    assert ids_of(back) == m[0:3]
    assert ids_of(page(assistants_service, path, order="asc", limit=2, before=m[4])) == m[2:4]
    assert ids_of(page(assistants_service, path, order="asc", after=m[1], before=m[5])) == m[2:5]


def test_message_pages_descending_is_the_default(assistants_service, thread):
    thread_id, m = thread
    path = f"/threads/{thread_id}/messages"
    newest = list(reversed(m))
    first = page(assistants_service, path, limit=3)
    assert (ids_of(first), first["has_more"]) == (newest[0:3], True)
    second = page(assistants_service, path, limit=3, after=first["last_id"])
    assert (ids_of(second), second["has_more"]) == (newest[3:6], True)
    last = page(assistants_service, path, limit=3, after=second["last_id"])
    assert (ids_of(last), last["has_more"]) == (newest[6:], False)
    assert ids_of(page(assistants_service, path, limit=3, before=second["first_id"])) == newest[0:3]
    assert ids_of(page(assistants_service, path, limit=2, before=m[2])) == [m[4], m[3]]
    assert ids_of(page(assistants_service, path, order="desc", after=m[5], before=m[1])) == [m[4], m[3], m[2]]
    assert page(assistants_service, path) == page(assistants_service, path, order="desc", limit=20)


def test_an_empty_page(assistants_service, thread):
    thread_id, m = thread
    body = page(assistants_service, f"/threads/{thread_id}/messages", order="asc", after=m[-1])
    assert body == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_the_sdk_pages_through_every_message(sdk_for, thread):
    thread_id, m = thread
    assert [x.id for x in sdk_for().beta.threads.messages.list(thread_id, limit=2, order="asc")] == m
    assert [x.id for x in sdk_for().beta.threads.messages.list(thread_id, limit=3)] == list(reversed(m))


def test_messages_filtered_by_run(assistants_service, thread):
    thread_id, _ = thread
    assert page(assistants_service, f"/threads/{thread_id}/messages", run_id="run_none")["data"] == []


def test_assistant_pages_in_both_orders(assistants_service, sdk_for):
    sdk = sdk_for()
    marker = sdk.beta.assistants.create(model="m", name="marker")
    made = [sdk.beta.assistants.create(model="m", name=f"a{i}").id for i in range(5)]
    asc = page(assistants_service, "/assistants", order="asc", limit=2, after=marker.id)
    assert (ids_of(asc), asc["has_more"]) == (made[0:2], True)
    asc = page(assistants_service, "/assistants", order="asc", limit=2, after=asc["last_id"])
    assert (ids_of(asc), asc["has_more"]) == (made[2:4], True)
    asc = page(assistants_service, "/assistants", order="asc", limit=2, after=asc["last_id"])
    assert (ids_of(asc), asc["has_more"]) == (made[4:], False)
    assert ids_of(page(assistants_service, "/assistants", order="asc", limit=2, before=made[4])) == made[2:4]
    desc = page(assistants_service, "/assistants", limit=2)
    assert (ids_of(desc), desc["has_more"]) == ([made[4], made[3]], True)
    desc = page(assistants_service, "/assistants", limit=2, after=desc["last_id"])
    assert ids_of(desc) == [made[2], made[1]]
    assert ids_of(page(assistants_service, "/assistants", limit=2, before=made[1])) == [made[3], made[2]]
    walked = [a.id for a in sdk.beta.assistants.list(limit=2, order="asc", after=marker.id)]
    assert walked == made
