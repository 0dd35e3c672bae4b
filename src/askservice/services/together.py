"""Run a few independent store round trips at once: greenlets under gevent, threads otherwise."""

from __future__ import annotations

import threading
from typing import Any, Callable


class Later:
    """A call started now in its own greenlet; `result()` waits for it (and raises what it raised)."""

    def __init__(self, call: Callable[[], Any]):
        self._call = call
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc

    def result(self) -> Any:
        """Wait for the call; return its value or raise its exception."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Return the results of `calls`, made concurrently; the first failure (in order) is raised."""
    later = [Later(call) for call in calls[1:]]
    first = calls[0]()
    return [first] + [item.result() for item in later]
