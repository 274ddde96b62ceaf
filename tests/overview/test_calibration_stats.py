"""The statistics behind judge calibration, against values worked out by hand or taken
from the literature: Cohen's κ (plain and quadratic-weighted), Kendall's τ-b, and the
mappings of rubric scores and gold similarity onto the judge's 0-4 scale."""

from __future__ import annotations

import pytest

from overview.calibration import (
    MIN_PAIRS,
    binarised,
    cohen_kappa,
    confusion,
    exact_agreement,
    figures,
    gold_bucket,
    kendall_tau_b,
    rubric_bucket,
    strength,
)


@pytest.mark.parametrize(
    "matrix, kappa",
    [
        # Wikipedia, "Cohen's kappa", worked example: 50 proposals, two readers.
        # p_o = 35/50 = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.2 / 0.5 = 0.4.
        ([[20, 5], [10, 15]], 0.4),
        # The same article's pair with equal agreement, different marginals:
        # p_o = 0.6, p_e = 0.6·0.7 + 0.4·0.3 = 0.54 → κ = 0.06/0.46 = 0.1304…
        ([[45, 15], [25, 15]], 0.06 / 0.46),
        # p_o = 0.6, p_e = 0.6·0.3 + 0.4·0.7 = 0.46 → κ = 0.14/0.54 = 0.2593…
        ([[25, 35], [5, 35]], 0.14 / 0.54),
    ],
)
def test_unweighted_kappa_matches_the_literature(matrix, kappa) -> None:
    assert cohen_kappa(matrix) == pytest.approx(kappa)


def test_quadratic_weighted_kappa_by_hand() -> None:
    # Three ordered categories, n = 10; row and column totals both (3, 3, 4).
    # Weights (i-j)²/(k-1)²: one apart 0.25, two apart 1.
    # Observed: 0.25·1 + 0.25·1 + 1·1 = 1.5 → 0.15.
    # Expected: 0.25·(3·3 + 3·3 + 3·4 + 4·3) + 1·(3·4 + 4·3) = 10.5 + 24 = 34.5 → 0.345.
    # κ_w = 1 - 0.15/0.345 = 13/23.  Unweighted: p_o 0.7, p_e 0.34 → 0.36/0.66 = 6/11.
    matrix = [[2, 1, 0], [0, 2, 1], [1, 0, 3]]
    assert cohen_kappa(matrix, quadratic=True) == pytest.approx(13 / 23)
    assert cohen_kappa(matrix) == pytest.approx(6 / 11)
    assert exact_agreement(matrix) == pytest.approx(0.7)


def test_kappa_edges() -> None:
    perfect = [[3, 0, 0], [0, 4, 0], [0, 0, 5]]
    assert cohen_kappa(perfect) == pytest.approx(1.0)
    assert cohen_kappa(perfect, quadratic=True) == pytest.approx(1.0)
    # Both raters always said the same single category: chance explains everything.
    assert cohen_kappa([[0, 0], [0, 9]]) is None
    assert cohen_kappa([[0, 0], [0, 0]]) is None
    # Systematic opposite answers are worse than chance.
    assert cohen_kappa([[0, 5], [5, 0]]) == pytest.approx(-1.0)


def test_kendall_tau_b_by_hand() -> None:
    # x = (1, 1, 2, 3), y = (1, 2, 2, 3): of the 6 pairs, 4 concordant, none discordant,
    # one tied in x only, one tied in y only → τ-b = 4 / √(5·5) = 0.8.
    matrix = confusion([(0, 0), (0, 1), (1, 1), (2, 2)], 3, 3)
    assert kendall_tau_b(matrix) == pytest.approx(0.8)
    assert kendall_tau_b([[1, 0, 0], [0, 1, 0], [0, 0, 1]]) == pytest.approx(1.0)
    assert kendall_tau_b([[0, 0, 1], [0, 1, 0], [1, 0, 0]]) == pytest.approx(-1.0)
    assert kendall_tau_b([[2, 3], [0, 0]]) is None  # one rating never varies
    # A 5 x 2 table (judge score x reject/approve): concordant 342, discordant 8,
    # 780 pairs, 172 tied in scores, 405 tied in decisions → 334 / √(608·375).
    table = [[6, 0], [5, 1], [2, 2], [2, 8], [0, 14]]
    assert kendall_tau_b(table) == pytest.approx(334 / (608 * 375) ** 0.5)


def test_judge_binarised_at_moderate() -> None:
    table = [[6, 0], [5, 1], [2, 2], [2, 8], [0, 14]]
    assert binarised(table) == [[11, 1], [4, 24]]


@pytest.mark.parametrize(
    "scores, bucket",
    [
        ({"accuracy": 1}, 0),
        ({"a": 1, "b": 2}, 1),  # 1.5 - 1 = 0.5: halves round up
        ({"a": 2, "b": 3, "c": 3}, 2),  # 2.67 - 1 = 1.67
        ({"a": 3, "b": 3, "c": 2, "d": 2, "e": 2}, 1),  # 2.4 - 1 = 1.4
        ({"a": 5, "b": 5}, 4),
        ({"a": 5, "b": "x", "c": 9}, 4),  # unreadable scores are ignored
        ({}, None),
        ({"a": "x"}, None),
        (None, None),
    ],
)
def test_rubric_mean_on_the_judge_scale(scores, bucket) -> None:
    assert rubric_bucket(scores) == bucket


@pytest.mark.parametrize(
    "similarity, bucket",
    [(0.0, 0), (0.19, 0), (0.2, 1), (0.4, 2), (0.6, 3), (0.79, 3), (0.8, 4), (1.0, 4)],
)
def test_gold_similarity_in_five_buckets(similarity, bucket) -> None:
    assert gold_bucket(similarity) == bucket


def test_too_few_pairs_give_no_figures_and_invalid_answers_count_apart() -> None:
    few = figures("rubric", [4, 3, None, 0], [4, 3, 2, 0])
    assert few["n"] == 3
    assert few["invalid"] == 1
    assert few["enough"] is False
    assert (few["agreement"], few["kappa"], few["tau_b"]) == (None, None, None)
    assert few["matrix"][4][4] == 1
    enough = figures("rubric", [2] * MIN_PAIRS, [2] * (MIN_PAIRS - 1) + [3])
    assert enough["enough"] is True
    assert enough["agreement"] == pytest.approx(0.95)
    assert enough["kappa"] == 0.0  # the judge always said 2: nothing beyond chance


def test_strength_in_words() -> None:
    assert strength(0.72) == "substantial"
    assert strength(0.85) == "almost perfect"
    assert strength(0.5) == "moderate"
    assert strength(0.3) == "fair"
    assert strength(0.1) == "slight"
    assert strength(-0.2) == "none beyond chance"
    assert strength(None) == ""
