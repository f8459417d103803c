"""Sampling: n is uniform on 1..1000 and rows are drawn without replacement."""

import random
from collections import Counter

import pytest

from pipeline.core import sampling

pytestmark = pytest.mark.unit


def chi_square(observed: list[int]) -> float:
    expected = sum(observed) / len(observed)
    return sum((o - expected) ** 2 / expected for o in observed)


def test_sample_size_is_uniform_over_1_to_1000():
    rng = random.Random(20261125)
    draws = [sampling.draw_size(rng, 1, 1000, 50_000) for _ in range(200_000)]
    counts = Counter(draws)
    assert set(counts) == set(range(1, 1001))  # every n is reachable, nothing outside
    # Pearson's chi-square over the 1000 values: df = 999, and the 0.1% critical
    # value is about 1139 (Wilson-Hilferty); a biased sampler lands far above it.
    assert chi_square([counts[n] for n in range(1, 1001)]) < 1139
    # and over ten equal bins: df = 9, 0.1% critical value 27.88
    deciles = Counter((d - 1) // 100 for d in draws)
    assert chi_square([deciles[i] for i in range(10)]) < 27.88


def test_the_uniformity_check_rejects_a_biased_sampler():
    rng = random.Random(20261125)
    draws = [min(rng.randint(1, 1000), rng.randint(1, 1000)) for _ in range(200_000)]
    deciles = Counter((d - 1) // 100 for d in draws)
    assert chi_square([deciles[i] for i in range(10)]) > 27.88


def test_sample_size_is_capped_by_the_population():
    rng = random.Random(1)
    assert all(sampling.draw_size(rng, 1, 1000, 5) <= 5 for _ in range(100))


def test_indices_are_distinct_and_in_range():
    rng = random.Random(2)
    indices = sampling.draw_indices(rng, 50_000, 1000)
    assert len(set(indices)) == 1000 and all(0 <= i < 50_000 for i in indices)


def test_batch_ids_are_uuid4_and_reproducible_from_the_seed():
    a = [sampling.new_batch_id(random.Random(9)) for _ in range(2)]
    assert a[0] == a[1]
    assert a[0][14] == "4"
