"""The turn engine: carries work on the upstream a turn at a time, for every API that talks to a model.

executor  one turn (TurnContext -> streamed request -> deltas to a Recorder -> TurnResult), the lease
          watcher (renew, see a cancel from any worker, close the upstream), `Executors` registry
context   TurnContext: what a turn sends (model, messages, sampling, budgets, tools, tool_choice)
prompt    token estimates and the prompt budget; earlier turns as chat messages
events    Events (drop) and Channel (a queue one SSE response reads)
leases    which worker works on an item, until when: grant, lapsed, renew (runs, ingestion)
sweeper   each worker's background greenlet that settles work whose lease or wait ran out
tools     ServerTool: tools the server executes itself (file_search)

The seam: what an API implements to use the engine (Assistants runs do, in services/runs).
1. A lease-holding item: a store item with `status` and the lease fields. The API claims it with
   its own conditional write (`status: "in_progress"` + `Leases.grant()`); while it is
   `in_progress` the engine renews the lease; `cancelling` asks the executor to stop; any other
   status (or no item) means the work was taken away. The API's sweep settles lapsed leases.
2. A Recorder: `text(piece)`, `call(call)`, `arguments(call, piece)`. It turns deltas into the
   API's own items and events, persisted before they are announced on an `Events`.
3. The driver: per turn a TurnContext, then `Executor(llm, store, leases, key).turn(context,
   recorder)` -> TurnResult (text, calls, finish_reason, usage). Between turns it runs
   `execute_server_calls` and decides what follows. It calls `hold()` after the claim and
   `release()` before it writes the end itself, and registers the executor in its `Executors` so
   that a cancel on this worker can `wake` it. `turn` raises Cancelled, Lost, LimitReached, or the
   upstream's ServiceError; the driver writes the matching end.
`askservice.llm.require_upstream(llm)` is the one "no upstream configured" guard (a 503).
"""
