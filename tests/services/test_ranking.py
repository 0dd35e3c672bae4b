"""Hybrid ranking: BM25 finds the planted words, vectors find the near meaning, scores in [0, 1]."""

import numpy as np

from askservice.services.ranking import Corpus, Segment, terms

FILLER = [f"general remark number {i} about weather and gardens" for i in range(50)]


def test_terms_drop_case_punctuation_and_stopwords():
    assert terms("What is THE vault-code?") == ["vault", "code"]


def test_keyword_search_puts_the_planted_chunk_first():
    seg = Segment("file-a", "a.txt", FILLER + ["The vault code is 7741 and it opens the north door."])
    other = Segment("file-b", "b.txt", FILLER[:10])
    hits = Corpus([seg, other]).search("vault code", limit=5)
    assert hits[0].segment.file_id == "file-a" and "7741" in hits[0].text
    assert hits[0].score == 1.0
    assert all(0 < h.score <= 1 for h in hits)


def test_limit_threshold_and_keep():
    seg = Segment("file-a", "a.txt", FILLER)
    corpus = Corpus([seg])
    assert len(corpus.search("weather", limit=7)) == 7
    assert corpus.search("weather", score_threshold=1.01) == []
    assert corpus.search("weather", keep=lambda s: s.file_id != "file-a") == []
    assert corpus.search("nothing-matches-this") == []


def test_vectors_rank_by_cosine_when_words_do_not_match():
    vectors = np.eye(3, dtype=np.float32)
    seg = Segment("file-v", "v.txt", ["alpha", "beta", "gamma"], vectors=vectors)
    hits = Corpus([seg]).search("unrelated words", query_vector=[0.1, 0.9, 0.0], limit=3)
    assert [h.text for h in hits] == ["beta", "alpha"]  # gamma has cosine 0: not a hit
    assert all(0 < h.score <= 1 for h in hits)


def test_fusion_combines_both_signals():
    vectors = np.array([[1, 0], [0, 1]], dtype=np.float32)
    seg = Segment("f", "f.txt", ["red apples", "green pears"], vectors=vectors)
    hits = Corpus([seg]).search("apples", query_vector=[1, 0])
    assert hits[0].text == "red apples" and abs(hits[0].score - 1.0) < 1e-6


def test_statistics_span_every_segment():
    rare = Segment("r", "r.txt", ["zebra stripes"] + FILLER[:5])
    common = Segment("c", "c.txt", ["zebra"] * 40)
    hits = Corpus([rare, common]).search("zebra stripes", limit=1)
    assert hits[0].segment.file_id == "r"
