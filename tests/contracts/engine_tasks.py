"""Module-level functions the engine contract suite runs on every engine (engines
pickle the function by name, so it lives in an importable module)."""

import os


def square(x: int) -> tuple[int, int, int]:
    return x, x * x, os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is refused")
    return x
