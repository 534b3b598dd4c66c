"""A plug-in for the backfill tests: the five plain-code built-in analysers one version
up (as a new release would make them; model analysers are left alone), and with VITRINA_TEST_SLOW_SECONDS set, each analyse call
of ``colors`` sleeps that long per item (so a kill lands mid-way)."""

import copy
import os
import time

PLAIN = ("blurhash", "phash", "colors", "quality", "focus")


def bumped(analyser):
    out = copy.copy(analyser)
    object.__setattr__(out, "version", f"{analyser.version}.1")
    slow = float(os.environ.get("VITRINA_TEST_SLOW_SECONDS") or 0)
    if slow and analyser.name == "colors":
        inner = analyser.analyse

        def analyse(items):
            time.sleep(slow * len(items))
            return inner(items)

        object.__setattr__(out, "analyse", analyse)
    return out


def register(registries):
    for analyser in list(registries.analysers):
        if analyser.name in PLAIN:
            registries.analysers.add(bumped(analyser), replace=True)
