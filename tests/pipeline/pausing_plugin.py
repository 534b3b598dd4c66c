"""A plug-in for the crash test: the derivatives step writes its blobs, then on its
first attempt announces itself and hangs, so the test can SIGKILL it mid-step."""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from vitrina.kinds.image.steps import DerivativesStep


@dataclass(frozen=True)
class PausingDerivatives(DerivativesStep):
    def run(self, ctx):
        result = super().run(ctx)
        if ctx.attempt == 1:
            Path(os.environ["VITRINA_TEST_MARKER"]).write_text("mid-step")
            time.sleep(600)
        return result


def register(registries):
    registries.steps.add(PausingDerivatives(), replace=True)
