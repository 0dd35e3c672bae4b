"""The recording functions: what they add, and how they bound the series a caller can create."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from askservice import metrics


def value(name: str, **labels: str) -> float:
    body, _ = metrics.render()
    return sum(
        s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def test_tokens_add_up_by_client_and_ignore_missing_counts():
    before = value("askservice_prompt_tokens_total", client_id="unit-a"), value("askservice_completion_tokens_total", client_id="unit-a")
    metrics.tokens("unit-a", 10, 3)
    metrics.tokens("unit-a", None, 2)
    assert value("askservice_prompt_tokens_total", client_id="unit-a") == before[0] + 10
    assert value("askservice_completion_tokens_total", client_id="unit-a") == before[1] + 5


def test_client_labels_are_bounded(monkeypatch):
    monkeypatch.setattr(metrics, "_seen_clients", set())
    monkeypatch.setattr(metrics, "MAX_CLIENT_IDS", 2)
    assert metrics._client_label("x" * 100) == "x" * 64
    assert metrics._client_label(None) == "default"
    assert metrics._client_label("third") == "other"
    assert metrics._client_label("default") == "default"  # already seen: still its own series


def test_streams_open_goes_up_and_down():
    before = value("askservice_sse_streams_open")
    metrics.stream_opened()
    assert value("askservice_sse_streams_open") == before + 1
    metrics.stream_closed()
    assert value("askservice_sse_streams_open") == before
