"""The pure formulas of ``forecast score`` (``pipectl.core.scoring``) against numbers worked out
by hand, exactly (``Fraction``), and a few properties that must hold for any input."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core import scoring as sc

# --- WAPE and bias ------------------------------------------------------------------------------


def test_wape_and_bias_by_hand() -> None:
    pairs = [(10, 8), (5, 10), (F(7, 2), 2)]  # (forecast, actual)
    # |10 - 8| + |5 - 10| + |3.5 - 2| = 2 + 5 + 1.5 = 8.5; ΣA = 20 → 8.5 / 20 = 17/40
    assert sc.wape(pairs) == F(17, 40)
    # (10 - 8) + (5 - 10) + (3.5 - 2) = 2 - 5 + 1.5 = -1.5 → -1.5 / 20 = -3/40: under-forecast
    assert sc.bias(pairs) == F(-3, 40)


def test_bias_sign_follows_the_forecast() -> None:
    # promised more than came in: 12 - 10 = +2 over ΣA 10 → +1/5
    assert sc.bias([(12, 10)]) == F(1, 5)
    assert sc.wape([(12, 10)]) == F(1, 5)
    # promised less: 7 - 10 = -3 → -3/10; WAPE takes the absolute error, 3/10
    assert sc.bias([(7, 10)]) == F(-3, 10)
    assert sc.wape([(7, 10)]) == F(3, 10)
    # errors of opposite signs cancel in the bias, never in the WAPE: (+5 - 5) / 20 = 0
    assert sc.bias([(15, 10), (5, 10)]) == 0
    assert sc.wape([(15, 10), (5, 10)]) == F(1, 2)


def test_wape_and_bias_without_anything_won_are_none() -> None:
    assert sc.wape([]) is None and sc.bias([]) is None
    # a forecast of 5 against nothing won: no denominator, no ratio (not infinity, not 0)
    assert sc.wape([(5, 0), (0, 0)]) is None
    assert sc.bias([(5, 0)]) is None


def test_a_perfect_forecast_scores_zero() -> None:
    pairs = [(F(1, 3), F(1, 3)), (100, 100)]
    assert sc.wape(pairs) == 0 and sc.bias(pairs) == 0


# --- coverage -----------------------------------------------------------------------------------


def test_coverage_counts_both_edges_as_inside() -> None:
    ranges = [
        (10, 20, 10),  # on P10: inside
        (10, 20, 20),  # on P90: inside
        (10, 20, 9),  # one below: outside
        (10, 20, 21),  # one above: outside
        (10, 20, 15),  # inside
    ]
    assert sc.coverage(ranges) == F(3, 5)
    assert sc.coverage([(0, 0, 0)]) == 1  # an empty range that was hit exactly
    assert sc.coverage([(F(1, 2), F(3, 2), F(3, 2))]) == 1
    assert sc.coverage([(F(1, 2), F(3, 2), F(3, 2) + F(1, 10**9))]) == 0


def test_coverage_of_no_period_is_none() -> None:
    assert sc.coverage([]) is None


# --- the naive baseline -------------------------------------------------------------------------


def test_baseline_needs_three_periods() -> None:
    assert sc.BASELINE_PERIODS == 3
    assert sc.baseline([]) is None
    assert sc.baseline([5]) is None
    assert sc.baseline([5, 7]) is None
    assert sc.baseline([1, 2, 3]) == 2  # (1 + 2 + 3) / 3
    # only the last three count: (1 + 2 + 4) / 3 = 7/3, the 100 four periods back is ignored
    assert sc.baseline([100, 1, 2, 4]) == F(7, 3)
    assert sc.baseline([0, 0, 0]) == 0
    assert sc.baseline([F(1, 2), 0, 1]) == F(1, 2)  # (0.5 + 0 + 1) / 3


# --- Brier --------------------------------------------------------------------------------------


def test_brier_of_a_constant_half_is_a_quarter() -> None:
    # whatever happens, (0.5 - 1)² = (0.5 - 0)² = 0.25
    assert sc.brier([(F(1, 2), 3, 1)]) == F(1, 4)
    assert sc.brier([(F(1, 2), 0, 7)]) == F(1, 4)
    assert sc.brier([(F(1, 2), 5, 0), (F(1, 2), 0, 2)]) == F(1, 4)


def test_brier_by_hand() -> None:
    # p 10%: 1 won (0.9² = 0.81), 3 lost (3 × 0.1² = 0.03); p 80%: 2 won (2 × 0.2² = 0.08)
    # (0.81 + 0.03 + 0.08) / 6 deals = 0.92 / 6 = 23/150
    assert sc.brier([(F(1, 10), 1, 3), (F(4, 5), 2, 0)]) == F(23, 150)
    # certain and right: 0; certain and wrong: 1
    assert sc.brier([(F(1), 4, 0), (F(0), 0, 2)]) == 0
    assert sc.brier([(F(1), 0, 1), (F(0), 1, 0)]) == 1
    # one deal at 30% that was lost: 0.3² = 0.09
    assert sc.brier([(F(3, 10), 0, 1)]) == F(9, 100)


def test_brier_without_deals_is_none() -> None:
    assert sc.brier([]) is None
    assert sc.brier([(F(1, 2), 0, 0)]) is None


# --- buckets and reliability --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "bucket"),
    [
        (F(0), 0),
        (F(99, 1000), 0),
        (F(1, 10), 1),  # 10% exactly: the 10-20% bucket, not 0-10%
        (F(2999, 10000), 2),
        (F(3, 10), 3),  # 30% exactly: 30-40%
        (F(29, 100), 2),
        (F(1, 3), 3),
        (F(8999, 10000), 8),
        (F(9, 10), 9),  # 90% exactly: 90-100%
        (F(99, 100), 9),
        (F(1), 9),  # 100% is in the last bucket, there is no eleventh
    ],
)
def test_bucket_edges_are_exact(p: F, bucket: int) -> None:
    assert sc.bucket_of(p) == bucket


def test_reliability_by_hand() -> None:
    groups = [  # (p, won, lost)
        (F(1, 10), 1, 1),
        (F(3, 20), 0, 2),
        (F(3, 10), 1, 0),
        (F(1), 2, 0),
        (F(0), 0, 3),
    ]
    out = sc.reliability(groups)
    assert [b.label for b in out] == ["0-10%", "10-20%", "30-40%", "90-100%"]  # empty: left out
    zero, ten, thirty, ninety = out
    assert (zero.low, zero.high, zero.deals, zero.predicted, zero.observed) == (
        0, F(1, 10), 3, 0, 0
    )  # fmt: skip
    # 10-20%: 2 deals at 10% (1 won) + 2 at 15% (none won) = 4 deals;
    # predicted (2 × 0.10 + 2 × 0.15) / 4 = 0.5 / 4 = 1/8; observed 1/4
    assert (ten.low, ten.high, ten.deals) == (F(1, 10), F(2, 10), 4)
    assert ten.predicted == F(1, 8) and ten.observed == F(1, 4)
    assert (thirty.deals, thirty.predicted, thirty.observed) == (1, F(3, 10), 1)
    assert (ninety.low, ninety.high) == (F(9, 10), 1)
    assert (ninety.deals, ninety.predicted, ninety.observed) == (2, 1, 1)


def test_reliability_of_nothing_is_empty() -> None:
    assert sc.reliability([]) == []
    assert sc.reliability([(F(1, 2), 0, 0)]) == []


# --- which model is best ------------------------------------------------------------------------


def test_best_model_is_the_lowest_wape() -> None:
    assert sc.MODELS == ("weighted", "historical", "p50", "baseline")
    w = {"weighted": F(1, 2), "historical": F(1, 5), "p50": F(3, 4), "baseline": F(1, 4)}
    assert sc.best_model(w) == "historical"


def test_best_model_ties_go_to_the_first_model() -> None:
    w = {"weighted": F(1, 2), "historical": F(1, 2), "p50": F(3, 4), "baseline": None}
    assert sc.best_model(w) == "weighted"
    # the dict's order does not decide: MODELS' order does
    assert sc.best_model(dict(reversed(list(w.items())))) == "weighted"
    assert sc.best_model({"baseline": F(1, 10), "p50": F(1, 10)}) == "p50"
    assert sc.best_model({"baseline": F(1, 10), "historical": F(1, 10)}) == "historical"


def test_best_model_without_any_wape_is_none() -> None:
    assert sc.best_model({}) is None
    assert sc.best_model(dict.fromkeys(sc.MODELS)) is None
    assert sc.best_model({"weighted": None, "baseline": F(0)}) == "baseline"


# --- properties ---------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=10**9)
pairs_st = st.lists(st.tuples(money, money), max_size=30)
# a probability p = n/d in [0, 1], exact
prob = st.integers(1, 1000).flatmap(lambda d: st.integers(0, d).map(lambda n: F(n, d)))
groups_st = st.lists(st.tuples(prob, st.integers(0, 6), st.integers(0, 6)), max_size=12)


@given(pairs_st)
def test_wape_bounds_the_bias(pairs: list[tuple[int, int]]) -> None:
    w, b = sc.wape(pairs), sc.bias(pairs)
    if sum(a for _f, a in pairs) == 0:
        assert w is None and b is None
    else:
        assert w is not None and b is not None
        assert w >= abs(b) >= 0


@given(pairs_st, st.integers(1, 1000), st.randoms(use_true_random=False))
def test_wape_and_bias_ignore_order_and_scale(pairs: list[tuple[int, int]], k: int, rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    scaled = [(f * k, a * k) for f, a in pairs]
    assert sc.wape(shuffled) == sc.wape(pairs) == sc.wape(scaled)
    assert sc.bias(shuffled) == sc.bias(pairs) == sc.bias(scaled)


@given(groups_st)
def test_brier_is_the_mean_square_error_deal_by_deal(groups: list[tuple[F, int, int]]) -> None:
    one_by_one = [(p - 1) ** 2 for p, w, _l in groups for _ in range(w)]
    one_by_one += [p**2 for p, _w, lost in groups for _ in range(lost)]
    got = sc.brier(groups)
    if not one_by_one:
        assert got is None
    else:
        assert got == sum(one_by_one, F(0)) / len(one_by_one)
        assert 0 <= got <= 1


@given(groups_st)
def test_reliability_keeps_every_deal_in_its_bucket(groups: list[tuple[F, int, int]]) -> None:
    out = sc.reliability(groups)
    n = sum(w + lost for _p, w, lost in groups)
    assert sum(b.deals for b in out) == n
    assert sum(b.observed * b.deals for b in out) == sum(w for _p, w, _l in groups)
    assert sum(b.predicted * b.deals for b in out) == sum(
        (p * (w + lost) for p, w, lost in groups), F(0)
    )
    assert [b.low for b in out] == sorted(b.low for b in out)
    for b in out:
        assert b.high - b.low == F(1, 10)
        assert b.low <= b.predicted <= b.high
        assert 0 <= b.observed <= 1


@given(prob)
def test_a_bucket_holds_its_low_edge_not_its_high_one(p: F) -> None:
    b = sc.bucket_of(p)
    low, high = F(b, 10), F(b + 1, 10)
    assert low <= p < high or (p == 1 and b == 9)
