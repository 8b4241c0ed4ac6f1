"""Key-value databases over a real server."""

from __future__ import annotations

import pytest

import levin
from levin import Keyword


@pytest.fixture
def kv(server, db_name):
    with levin.open_kv(server.uri(db_name)) as kv:
        kv.open_dbi("nums")
        kv.transact([[":put", "nums", i, f"v{i}", ":long", ":string"] for i in range(1, 11)])
        yield kv


def test_put_get_and_types(kv):
    assert kv.get_value("nums", 3, ":long", ":string", True) == "v3"
    assert kv.get_value("nums", 3, ":long", ":string") == [3, "v3"]  # Datalevin's default
    assert kv.get_value("nums", 99, ":long", ":string", True) is None
    kv.open_dbi("data")
    value = {":a": [1, 2.5, "x"], ":b": frozenset({Keyword(":k")})}
    kv.transact([[":put", "data", [":tuple", 1], value]])
    assert kv.get_value("data", [":tuple", 1]) == value
    kv.transact([[":put", "data", "bytes", b"\x00\xfe"]], )
    assert kv.get_value("data", "bytes") == b"\x00\xfe"
    # dbi_name form, with types applied to every item.
    kv.open_dbi("words")
    kv.transact([[":put", "b", 2], [":put", "a", 1]], "words", ":string", ":long")
    assert kv.get_range("words", [":all"], ":string", ":long") == [["a", 1], ["b", 2]]
    kv.transact([[":del", "a"]], dbi_name="words", k_type="string")
    assert kv.key_range("words", [":all"], ":string") == ["b"]
    assert sorted(kv.list_dbis()) == ["data", "nums", "words"]
    assert kv.entries("nums") == 10
    assert kv.stat("nums")[":entries"] == 10


# Datalevin 1.2.8 (checked with the real one): a one-bound -back range is the forward
# range in descending order; a two-bound one takes its bounds in iteration order.
RANGES = [
    ([":all"], list(range(1, 11))),
    ([":all-back"], list(range(10, 0, -1))),
    ([":at-least", 8], [8, 9, 10]),
    ([":at-least-back", 3], list(range(10, 2, -1))),
    ([":at-most", 2], [1, 2]),
    ([":at-most-back", 8], list(range(8, 0, -1))),
    ([":greater-than", 8], [9, 10]),
    ([":greater-than-back", 3], list(range(10, 3, -1))),
    ([":less-than", 3], [1, 2]),
    ([":less-than-back", 8], list(range(7, 0, -1))),
    ([":closed", 3, 5], [3, 4, 5]),
    ([":closed-back", 5, 3], [5, 4, 3]),
    ([":closed-open", 3, 5], [3, 4]),
    ([":closed-open-back", 5, 3], [5, 4]),
    ([":open-closed", 3, 5], [4, 5]),
    ([":open-closed-back", 5, 3], [4, 3]),
    ([":open", 3, 5], [4]),
    ([":open-back", 5, 3], [4]),
]


@pytest.mark.parametrize("rng,keys", RANGES, ids=[r[0][0] for r in RANGES])
def test_every_range_kind(kv, rng, keys):
    assert kv.key_range("nums", rng, ":long") == keys
    assert kv.get_range("nums", rng, ":long", ":string") == [[k, f"v{k}"] for k in keys]
    assert kv.range_count("nums", rng, ":long") == len(keys)
    first = kv.get_first("nums", rng, ":long", ":string")
    assert first == ([keys[0], f"v{keys[0]}"] if keys else None)
    assert kv.get_first_n("nums", 2, rng, ":long", ":string", True) == [f"v{k}" for k in keys[:2]]


def test_limits_ranks_and_samples(kv):
    assert kv.get_range("nums", [":all"], ":long", ":string", limit=2, offset=3) == [[4, "v4"], [5, "v5"]]
    assert kv.key_range("nums", "[:all-back]", ":long", limit=1) == [10]
    assert kv.get_rank("nums", 4, ":long") == 3
    assert kv.get_by_rank("nums", 3, ":long", ":string") == "v4"
    assert kv.get_by_rank("nums", 3, ":long", ":string", False) == [4, "v4"]
    sample = kv.sample_kv("nums", 3, ":long", ":string")
    assert len(sample) == 3 and all(s.startswith("v") for s in sample)


def test_list_dbis(kv):
    kv.open_list_dbi("tags")
    kv.put_list_items("tags", "a", [3, 1, 2], ":string", ":long")
    kv.transact([[":put-list", "tags", "b", [9], ":string", ":long"]])
    assert kv.get_list("tags", "a", ":string", ":long") == [1, 2, 3]
    assert kv.list_count("tags", "a", ":string") == 3
    assert kv.in_list("tags", "a", 2, ":string", ":long") is True
    assert kv.in_list("tags", "a", 7, ":string", ":long") is False
    assert kv.list_range("tags", [":all"], ":string", [":closed", 2, 9], ":long") == [["a", 2], ["a", 3], ["b", 9]]
    assert kv.list_range_count("tags", [":all"], ":string") == 4
    kv.del_list_items("tags", "a", ":string", values=[1], v_type=":long")
    assert kv.get_list("tags", "a", ":string", ":long") == [2, 3]
    kv.del_list_items("tags", "a", ":string")
    assert kv.list_count("tags", "a", ":string") == 0


def test_clear_and_drop(kv):
    kv.clear_dbi("nums")
    assert kv.entries("nums") == 0
    kv.drop_dbi("nums")
    assert "nums" not in kv.list_dbis()


def test_kv_transactions(kv, server, db_name):
    def work(k):
        k.transact([[":put", "nums", 100, "hundred", ":long", ":string"]])
        assert k.get_value("nums", 100, ":long", ":string", True) == "hundred"
        return 1

    assert kv.with_transaction(work) == 1
    assert kv.get_value("nums", 100, ":long", ":string", True) == "hundred"
    with pytest.raises(ZeroDivisionError):
        kv.with_transaction(lambda k: (k.transact([[":put", "nums", 200, "x", ":long", ":string"]]), 1 / 0))
    assert kv.get_value("nums", 200, ":long", ":string", True) is None


def test_range_reads_of_many_batches(kv):
    # Key-value ranges and lists of several 1,000-item batches, streamed from the snapshot.
    kv.transact([[":put", "nums", i, f"v{i}", ":long", ":string"] for i in range(11, 3001)])
    pairs = kv.get_range("nums", [":all"], ":long", ":string")
    assert pairs == [[i, f"v{i}"] for i in range(1, 3001)]
    assert kv.get_range("nums", [":all-back"], ":long", ":string", limit=2500) == \
        [[i, f"v{i}"] for i in range(3000, 500, -1)]
    assert kv.key_range("nums", [":closed", 100, 2600], ":long") == list(range(100, 2601))
    assert len(kv.sample_kv("nums", 5000, ":long", ":string")) == 3000
    kv.open_list_dbi("many")
    kv.put_list_items("many", "a", list(range(2200)), ":string", ":long")
    kv.put_list_items("many", "b", list(range(1500)), ":string", ":long")
    assert kv.get_list("many", "a", ":string", ":long") == list(range(2200))
    assert kv.list_range("many", [":all"], ":string", [":all"], ":long") == \
        [["a", v] for v in range(2200)] + [["b", v] for v in range(1500)]
    assert kv.list_range("many", [":all"], ":string", [":less-than", 1200], ":long", limit=2000) == \
        [["a", v] for v in range(1200)] + [["b", v] for v in range(800)]

    def inside(k):
        k.transact([[":put", "nums", i, f"v{i}", ":long", ":string"] for i in range(3001, 4001)])
        assert k.get_range("nums", [":all"], ":long", ":string") == [[i, f"v{i}"] for i in range(1, 4001)]

    kv.with_transaction(inside)
    assert len(kv.key_range("nums", [":all"], ":long")) == 4000


def test_bad_kv_input(kv):
    with pytest.raises(levin.InterfaceError, match="starts with one of"):
        kv.get_range("nums", [":between", 1, 2])
    with pytest.raises(levin.InterfaceError, match="key_range is required"):
        kv.get_range("nums", None)
    with pytest.raises(levin.InterfaceError, match=":put, :del"):
        kv.transact([[":upsert", "nums", 1, 2]])
    with pytest.raises(levin.InterfaceError, match="v_type needs k_type"):
        kv.get_first("nums", [":all"], v_type=":string")
    with pytest.raises(levin.BadArgument):
        kv.transact([[":put", "datalog/x", 1, 2]])
    with pytest.raises(levin.Error):
        kv.get_value("no-such-dbi", 1)
