"""Ids: prefixed, valid, and sorted as strings in creation order."""

import gevent

from askservice import ids


def test_ids_sort_in_creation_order_across_rapid_calls():
    made = [ids.new_id("msg_") for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_from_concurrent_greenlets_are_unique_and_ordered_per_greenlet():
    def make():
        out = []
        for _ in range(200):
            out.append(ids.new_id("run_"))
            gevent.sleep(0)
        return out

    jobs = [gevent.spawn(make) for _ in range(10)]
    gevent.joinall(jobs, raise_error=True)
    every = [i for job in jobs for i in job.value]
    assert len(set(every)) == 2000
    assert all(job.value == sorted(job.value) for job in jobs)


def test_ids_are_valid_with_their_prefix_only():
    value = ids.new_id("asst_")
    assert value.startswith("asst_") and len(value) == len("asst_") + ids.TIME_CHARS + ids.RANDOM_CHARS
    assert ids.is_valid(value, "asst_")
    assert not ids.is_valid(value, "thread_")
    assert not ids.is_valid(value + "0", "asst_")
    assert not ids.is_valid(value[:-1], "asst_")
    assert not ids.is_valid(value[:-1] + "u", "asst_")  # not in the alphabet
    assert not ids.is_valid(value.upper(), "asst_")
    assert not ids.is_valid("asst_", "asst_")


def test_id_time_part_follows_the_clock():
    first = ids.new_id("x_")
    gevent.sleep(0.002)
    assert ids.new_id("x_")[2:13] > first[2:13]
