"""Citations: source markers and quoted spans become file_citation annotations."""

from askservice.services.file_search.citations import citations
from tests.services.file_search.support import PLANTED


def test_citations_for_markers_and_quoted_spans():
    results = [{"file_id": "file-a", "content": [{"type": "text", "text": PLANTED}]},
               {"file_id": "file-b", "content": [{"type": "text", "text": "other"}]}]
    answer = 'The code is 7741 [1]. The file says "vault code for the north tower is 7741" [2] [9].'
    notes = citations(answer, results)
    assert [(n["file_citation"]["file_id"], n["text"]) for n in notes] == [
        ("file-a", "[1]"), ("file-a", "vault code for the north tower is 7741"), ("file-b", "[2]")]
    for n in notes:
        assert answer[n["start_index"]:n["end_index"]] == n["text"]
