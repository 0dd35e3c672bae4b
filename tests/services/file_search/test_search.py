"""Search: attribute filter semantics."""

from askservice.services.file_search.search import matches


def test_filter_semantics():
    attrs = {"lang": "en", "year": 2024, "draft": False}
    assert matches({"type": "and", "filters": [{"type": "gte", "key": "year", "value": 2020},
                                               {"type": "in", "key": "lang", "value": ["en", "de"]}]}, attrs)
    assert not matches({"type": "or", "filters": [{"type": "lt", "key": "year", "value": 2000},
                                                 {"type": "eq", "key": "draft", "value": True}]}, attrs)
    assert matches({"type": "nin", "key": "lang", "value": ["fr"]}, attrs)
    assert not matches({"type": "gt", "key": "lang", "value": 3}, attrs)
