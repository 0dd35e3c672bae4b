"""The turn engine: what Assistants runs (and, next, Responses) share to carry work on the upstream.

leases   which worker works on an item, until when (runs, vector-store ingestion)
sweeper  each worker's background greenlet that settles work whose lease or wait ran out
tools    the seam for tools the server executes itself (file_search)
"""
