"""Every store key, in one place: the data model of docs/ARCHITECTURE.md ("Data model") as functions.

An object lives at `(pk, sk)`; items that belong to another (messages and runs to a thread, steps
to a run, files and batches to a vector store) share its partition under an sk prefix, so that
one key-range query lists them in id (= creation) order. Owner-index keys (`gsi1pk`) list a
client's objects of one kind.
"""

from __future__ import annotations

META = "meta"
MESSAGE = "msg#"
RUN = "run#"
STEP = "step#"
FILE = "file#"
VECTOR_STORE = "vs#"
BATCH = "batch#"
CONVERSATION_ITEM = "item#"
ITEM_POINTER = "id#"
POSITION_DIGITS = 10
"""A conversation item's position, zero-padded in its sk so that key order is position order."""
ACTIVE_RUNS = "runs#active"
"""The owner-index partition of every active run (the sweeper's list)."""
INGESTING = "ingest#active"
"""The owner-index partition of every vector-store file being ingested (the sweeper's list)."""
DELETING_FILES = "files#deleting"
"""The owner-index partition of files marked deleted whose removal is not finished (the sweeper's list)."""
ACTIVE_RESPONSES = "responses#active"
"""The owner-index partition of every response in progress (the sweeper's list)."""
DELETING_VECTOR_STORES = "vector_stores#deleting"
"""The owner-index partition of vector stores marked deleted whose removal is not finished (the sweeper's list)."""


def assistant(assistant_id: str) -> tuple[str, str]:
    """Return the key of an assistant."""
    return f"asst#{assistant_id}", META


def thread_pk(thread_id: str) -> str:
    """Return the partition of a thread, its messages and its runs."""
    return f"thread#{thread_id}"


def thread(thread_id: str) -> tuple[str, str]:
    """Return the key of a thread."""
    return thread_pk(thread_id), META


def message(thread_id: str, message_id: str) -> tuple[str, str]:
    """Return the key of a message."""
    return thread_pk(thread_id), MESSAGE + message_id


def run(thread_id: str, run_id: str) -> tuple[str, str]:
    """Return the key of a run."""
    return thread_pk(thread_id), RUN + run_id


def steps_pk(run_id: str) -> str:
    """Return the partition of a run's steps."""
    return RUN + run_id


def step(run_id: str, step_id: str) -> tuple[str, str]:
    """Return the key of a run step."""
    return steps_pk(run_id), STEP + step_id


def file_pk(file_id: str) -> str:
    """Return the partition of a file and of its memberships in vector stores."""
    return FILE + file_id


def file(file_id: str) -> tuple[str, str]:
    """Return the key of an uploaded file's metadata."""
    return file_pk(file_id), META


def membership(file_id: str, vector_store_id: str) -> tuple[str, str]:
    """Return the key that records a file's membership of a vector store (so a file delete finds them)."""
    return file_pk(file_id), VECTOR_STORE + vector_store_id


def vector_store_pk(vector_store_id: str) -> str:
    """Return the partition of a vector store, its files and its batches."""
    return VECTOR_STORE + vector_store_id


def vector_store(vector_store_id: str) -> tuple[str, str]:
    """Return the key of a vector store."""
    return vector_store_pk(vector_store_id), META


def vector_store_file(vector_store_id: str, file_id: str) -> tuple[str, str]:
    """Return the key of a vector-store file."""
    return vector_store_pk(vector_store_id), FILE + file_id


def batch(vector_store_id: str, batch_id: str) -> tuple[str, str]:
    """Return the key of a vector-store file batch."""
    return vector_store_pk(vector_store_id), BATCH + batch_id


def ingesting(vector_store_id: str, file_id: str) -> dict[str, str]:
    """Return the owner-index keys that list a vector-store file while it is being ingested."""
    return {"gsi1pk": INGESTING, "gsi1sk": f"{vector_store_id}/{file_id}"}


def response_pk(response_id: str) -> str:
    """Return the partition of a response: its object, its context, its stored events."""
    return f"resp#{response_id}"


def response(response_id: str) -> tuple[str, str]:
    """Return the key of a response's object (status, lease, the API object)."""
    return response_pk(response_id), META


RESPONSE_CONTEXT = "ctx"
"""The sk of a response's context (its input items and the items it continues): sorts before `meta`."""
RESPONSE_EVENTS = "seq#"
"""The sk prefix of a background response's stored events: sorts after `meta`."""


def conversation_pk(conversation_id: str) -> str:
    """Return the partition of a conversation, its items and their id pointers."""
    return f"conv#{conversation_id}"


def conversation(conversation_id: str) -> tuple[str, str]:
    """Return the key of a conversation's meta item."""
    return conversation_pk(conversation_id), META


def conversation_item(conversation_id: str, position: int) -> tuple[str, str]:
    """Return the key of the conversation item at `position` (0 is the first)."""
    return conversation_pk(conversation_id), f"{CONVERSATION_ITEM}{position:0{POSITION_DIGITS}d}"


def item_pointer(conversation_id: str, item_id: str) -> tuple[str, str]:
    """Return the key of the pointer from a conversation item's id to its position."""
    return conversation_pk(conversation_id), ITEM_POINTER + item_id


def owned(owner: str, kind: str) -> str:
    """Return the owner-index partition of a client's objects of one kind (`assistant`, `file`, ...)."""
    return f"{owner}#{kind}"


def cursor(prefix: str, object_id: str | None) -> str | None:
    """Return the sk that an `after`/`before` object id stands for under `prefix` (None stays None)."""
    return prefix + object_id if object_id else None
