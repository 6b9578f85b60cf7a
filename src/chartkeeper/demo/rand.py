"""Seed hashing and the cheap random draws every part of the generator uses.

Each registration draws from its own ``random.Random`` seeded by hashing (seed, slot, salt), so that
registrations can be generated in any order. The helpers below take the bound ``random`` method
(``Rand``) rather than the ``Random`` object: one attribute lookup saved per draw adds up over the
millions of draws of a large population.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

Rand = Callable[[], float]  # a bound random.Random.random

M64 = (1 << 64) - 1


def mix(x: int) -> int:
    """splitmix64 finalizer: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def seed_tag(seed: int) -> int:
    """A 64-bit tag of the user's seed; every id and random stream of the population derives from it."""
    return int.from_bytes(hashlib.sha256(f"chartkeeper-demo/{seed}".encode()).digest()[:8], "big")


def noise(r: Rand) -> float:
    """Roughly standard normal (Irwin-Hall of three uniforms), cheaper than gauss."""
    return (r() + r() + r() - 1.5) * 2.0


def pick(r: Rand, seq: Sequence[Any]) -> Any:
    """A uniform choice (one draw, unlike ``random.choice`` whose draw count varies by length)."""
    return seq[int(r() * len(seq))]


def weighted(r: Rand, items: list[tuple[Any, float]]) -> Any:
    """A choice from ``(item, weight)`` pairs, with a single draw."""
    total = 0.0
    for _, w in items:
        total += w
    x = r() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]
