"""Hybrid ranking: BM25 finds the planted words, vectors find the near meaning, scores in [0, 1]."""

import numpy as np

from askservice.services.file_search.ranking import Block, Corpus, Segment, terms

FILLER = [f"general remark number {i} about weather and gardens" for i in range(50)]


def corpus(*segments_per_block):
    return Corpus([Block(list(segments)) for segments in segments_per_block])


def test_terms_drop_case_punctuation_and_stopwords():
    assert terms("What is THE vault-code?") == ["vault", "code"]


def test_keyword_search_puts_the_planted_chunk_first():
    seg = Segment("file-a", "a.txt", FILLER + ["The vault code is 7741 and it opens the north door."])
    other = Segment("file-b", "b.txt", FILLER[:10])
    hits = corpus([other, seg]).search("vault code", limit=5)
    assert hits[0].segment.file_id == "file-a" and "7741" in hits[0].text
    assert hits[0].score == 1.0
    assert all(0 < h.score <= 1 for h in hits)


def test_merged_postings_match_each_files_own():
    a = Segment("a", "a.txt", ["red apple", "green apple pie", "plum"])
    b = Segment("b", "b.txt", ["apple tree", "pear"])
    block = Block([a, b])
    rows, tf = block.posting("apple")
    assert sorted(zip(rows.tolist(), tf.tolist())) == [(0, 1.0), (1, 1.0), (3, 1.0)]
    assert block.posting("pear")[0].tolist() == [4] and block.posting("kiwi") is None
    hits = Corpus([block]).search("apple", limit=10)
    assert {(h.segment.file_id, h.text) for h in hits} == {("a", "red apple"), ("a", "green apple pie"), ("b", "apple tree")}


def test_limit_threshold_and_keep():
    seg = Segment("file-a", "a.txt", FILLER)
    c = corpus([seg, Segment("file-b", "b.txt", ["weather"])])
    assert len(c.search("weather", limit=7)) == 7
    assert c.search("weather", score_threshold=1.01) == []
    assert [h.segment.file_id for h in c.search("weather", keep=lambda s: s.file_id == "file-b")] == ["file-b"]
    assert c.search("nothing-matches-this") == []


def test_vectors_rank_by_cosine_when_words_do_not_match():
    seg = Segment("file-v", "v.txt", ["alpha", "beta", "gamma"], vectors=np.eye(3, dtype=np.float32))
    hits = corpus([seg]).search("unrelated words", query_vector=[0.1, 0.9, 0.0], limit=3)
    assert [h.text for h in hits] == ["beta", "alpha"]  # gamma has cosine 0: not a hit
    assert all(0 < h.score <= 1 for h in hits)


def test_fusion_combines_both_signals_and_files_without_vectors_keep_keywords():
    with_vectors = Segment("f", "f.txt", ["red apples", "green pears"], vectors=np.array([[1, 0], [0, 1]], np.float32))
    keyword_only = Segment("k", "k.txt", ["apples in a basket"])
    hits = corpus([with_vectors, keyword_only]).search("apples", query_vector=[1, 0])
    assert hits[0].text == "red apples" and abs(hits[0].score - 1.0) < 1e-6
    assert {h.text for h in hits} == {"red apples", "apples in a basket"}


def test_statistics_span_every_store():
    rare = Segment("r", "r.txt", ["zebra stripes"] + FILLER[:5])
    common = Segment("c", "c.txt", ["zebra"] * 40)
    hits = corpus([rare], [common]).search("zebra stripes", limit=1)
    assert hits[0].segment.file_id == "r"
    assert corpus([], []).size == 0
