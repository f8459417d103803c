"""How the publisher draws a sample: n ~ U[min, max], then n distinct rows, uniformly."""

from __future__ import annotations

import random
import uuid


def draw_size(rng: random.Random, low: int, high: int, population: int) -> int:
    """n uniform on low..high inclusive, capped by the number of rows there are."""
    return min(rng.randint(low, high), population)


def draw_indices(rng: random.Random, population: int, n: int) -> list[int]:
    """n distinct row indices, every subset equally likely (sampling without replacement)."""
    return rng.sample(range(population), n)


def new_batch_id(rng: random.Random) -> str:
    """A version-4 UUID from `rng`, so a seeded run publishes the same batch ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
