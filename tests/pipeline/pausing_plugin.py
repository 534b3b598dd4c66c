"""A plug-in for the crash test: the derivatives step writes its blobs, then on its
first attempt announces itself and hangs, so the test can SIGKILL it mid-step."""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from vitrina.pipeline.image_steps import DerivativesStep
from vitrina.pipeline.steps import register


@dataclass(frozen=True)
class PausingDerivatives(DerivativesStep):
    def run(self, ctx):
        result = super().run(ctx)
        if ctx.attempt == 1:
            Path(os.environ["VITRINA_TEST_MARKER"]).write_text("mid-step")
            time.sleep(600)
        return result


register(PausingDerivatives(), replace=True)
