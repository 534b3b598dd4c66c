"""A plug-in for the backfill tests: the five plain-code built-in analysers one version
up (as a new release would make them; model analysers are left alone), and with VITRINA_TEST_SLOW_SECONDS set, each analyse call
of ``colors`` sleeps that long per item (so a kill lands mid-way); with
VITRINA_TEST_FAIL_NARROWER set, ``quality`` raises for previews narrower than that."""

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
    narrower = int(os.environ.get("VITRINA_TEST_FAIL_NARROWER") or 0)
    if narrower and analyser.name == "quality":
        inner_quality = analyser.analyse

        def analyse_or_fail(items):
            if any(item.shape[1] < narrower for item in items):
                raise ValueError("too narrow for this test")
            return inner_quality(items)

        object.__setattr__(out, "analyse", analyse_or_fail)
    return out


def register(registries):
    for analyser in list(registries.analysers):
        if analyser.name in PLAIN:
            registries.analysers.add(bumped(analyser), replace=True)
