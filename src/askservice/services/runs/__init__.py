"""The Assistants API's runs, on top of the turn engine (services/engine).

service     Runs: create, get, list, modify, cancel, submit tool outputs; steps; the owner-checked lookup
records     run and step items, their API objects, the conditional status change of a run
steps       the one place that opens and closes steps, and ends the open ones of a run that stops
execution   a run's execution: claim, the engine's turns, requires_action, the run's end
recorder    the engine's Recorder for runs: deltas -> message and step items -> `thread.*` events
prompt      a run's conversation as chat messages (thread messages, then the run's own steps)
cancel      cancel at once, or through `cancelling` and the executor's watcher
submit      tool outputs answered exactly once; the run carries on
settle      runs nobody works on: lapsed leases, expired waits (the sweeper's work)
"""

from askservice.services.runs.records import SEARCH_CONTENT
from askservice.services.runs.service import Runs

__all__ = ["Runs", "SEARCH_CONTENT"]
