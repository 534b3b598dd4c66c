"""A placement's selection policy and the contexts requests carry (decision 036,
"Serving"): the checks of names, contexts and policy options, the policy document kept
in the blob store, and a context written into the answer's request id so that the
event log alone can rebuild a contextual policy's state."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from vitrina.creative.selection import POLICIES, ContextSpace, Grid, Selector
from vitrina.errors import InvalidInput, VitrinaError
from vitrina.experiments.errors import InvalidExperiment
from vitrina.storage.blobs import BlobStore, validate_key

log = logging.getLogger(__name__)

#: a campaign id is a document id (128); a placement fits the creatives table's 64
CAMPAIGN, PLACEMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"), \
    re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: a request's context: at most this many features, names and values this long
MAX_CONTEXT, CONTEXT_KEY, CONTEXT_VALUE = 8, re.compile(r"[A-Za-z0-9_-]{1,32}"), 64
#: a contextual policy's space: request ids hold two base-36 characters per feature
MAX_SPACE_FEATURES, MAX_SPACE_VALUES = 5, 36 * 36 - 1
NONE_CODE = "zz"
#: the largest values of the mvt options that cost time or memory on every refresh
OPTION_CAPS = {"draws": 20_000, "restarts": 50, "max_exhaustive": 65_536}


class InvalidContext(VitrinaError):
    status, code = 400, "invalid_context"


class InvalidPolicy(VitrinaError):
    status, code = 422, "invalid_policy"


def check_name(label: str, value: str) -> str:
    pattern = CAMPAIGN if label == "campaign" else PLACEMENT
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidInput(f"A {label} here is letters, digits, '.', '_' or '-' "
                           f"({'128' if label == 'campaign' else '64'} at most).",
                           details={label: repr(value)[:100]})
    return value


def _context_problem(k: Any, v: Any) -> tuple[str, dict[str, str]] | None:
    """Why a context feature and value cannot come in a request, if they cannot."""
    if not isinstance(k, str) or CONTEXT_KEY.fullmatch(k) is None:
        return ("a context feature's name is 1-32 letters, digits, '_' or '-'",
                {"feature": repr(k)[:64]})
    if not isinstance(v, str) or not 0 < len(v) <= CONTEXT_VALUE or not v.isprintable():
        return f"context.{k} must be 1-{CONTEXT_VALUE} printable characters", {"feature": k}
    return None


def check_context(context: Mapping[str, Any]) -> dict[str, str]:
    if len(context) > MAX_CONTEXT:
        raise InvalidContext(f"at most {MAX_CONTEXT} context features",
                             details={"count": len(context)})
    for k, v in context.items():
        problem = _context_problem(k, v)
        if problem is not None:
            raise InvalidContext(problem[0], details=problem[1])
    return dict(context)


def check_options(options: Mapping[str, Any]) -> None:
    """The options that cost time or memory on every refresh are bounded, typed numbers."""
    for name, value in options.items():
        cap = OPTION_CAPS.get(name)
        if cap is not None and (isinstance(value, bool) or not isinstance(value, int)
                                or value > cap):
            raise InvalidPolicy(f"{name} is a whole number up to {cap}", details={"option": name})
    if "interactions" in options and not isinstance(options["interactions"], bool):
        raise InvalidPolicy("interactions is true or false", details={"option": "interactions"})
    prior = options.get("prior")
    if prior is not None and (not isinstance(prior, list) or len(prior) != 2):
        raise InvalidPolicy("prior is [alpha, beta]", details={"option": "prior"})


# -- the placement's policy ------------------------------------------------------------

@dataclass(frozen=True)
class PolicyConfig:
    policy: str = "thompson"
    options: dict[str, Any] = field(default_factory=dict)
    #: the contextual policy's features and their values: {"device": ["mobile", ...]}
    context: dict[str, list[str]] | None = None

    @classmethod
    def of(cls, data: Any) -> PolicyConfig:
        """A checked config: the policy must be constructible with these options."""
        if not isinstance(data, Mapping) or set(data) - {"policy", "options", "context"}:
            raise InvalidPolicy("a policy is {policy, options, context}")
        policy, options = data.get("policy", "thompson"), data.get("options") or {}
        context = data.get("context")
        if policy not in POLICIES:
            raise InvalidPolicy(f"unknown policy {policy!r}", details={"allowed": list(POLICIES)})
        if not isinstance(options, Mapping) or "seed" in options:
            raise InvalidPolicy("options are an object of the policy's parameters (no seed)")
        check_options(options)
        if (policy == "contextual") != (context is not None):
            raise InvalidPolicy("the contextual policy, and only it, takes a context space")
        space = None
        if context is not None:
            try:
                space = ContextSpace.of(context)
            except (InvalidExperiment, TypeError, AttributeError) as exc:
                raise InvalidPolicy(f"bad context space: {exc}") from None
            if len(space.features) > MAX_SPACE_FEATURES or \
                    any(len(v) > MAX_SPACE_VALUES for _, v in space.features):
                raise InvalidPolicy(f"a context space has at most {MAX_SPACE_FEATURES} features "
                                    f"of at most {MAX_SPACE_VALUES} values")
            for name, values in space.features:  # each must be something a request can send
                problem = next(filter(None, (_context_problem(name, v) for v in values)), None)
                if problem is not None:
                    raise InvalidPolicy(f"bad context space: {problem[0]}", details=problem[1])
            context = {n: list(v) for n, v in space.features}
        config = cls(policy, dict(options), context)
        try:  # on a stand-in grid: the options must suit the policy
            config.selector(Grid.of({"creative": ["a", "b"]}))
        except (InvalidExperiment, TypeError, ValueError) as exc:
            raise InvalidPolicy(str(exc)) from None
        return config

    @cached_property
    def space(self) -> ContextSpace | None:
        return ContextSpace.of(self.context) if self.context is not None else None

    @cached_property
    def tag(self) -> str:
        """Four hex characters naming the context space, carried in request ids."""
        text = json.dumps(self.context, sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=2).hexdigest()

    def selector(self, grid: Grid) -> Selector:
        return Selector(grid, self.policy, context=self.space, seed=0, **self.options)

    def to_dict(self) -> dict[str, Any]:
        out = {"policy": self.policy, "options": self.options}
        if self.context is not None:
            out["context"] = self.context
        return out


class PolicyStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @staticmethod
    def key(project: str, campaign: str, placement: str) -> str:
        return validate_key(f"creative/{project}/{check_name('campaign', campaign)}/"
                            f"{check_name('placement', placement)}/policy.json")

    def get(self, project: str, campaign: str, placement: str) -> PolicyConfig:
        """The stored policy; thompson when none is stored or it no longer reads."""
        key = self.key(project, campaign, placement)
        if not self.blobs.exists(key):
            return PolicyConfig()
        try:
            return PolicyConfig.of(json.loads(self.blobs.read_bytes(key)))
        except (ValueError, InvalidPolicy) as exc:
            log.error("%s unreadable (%s): thompson serves", key, exc)
            return PolicyConfig()

    def put(self, project: str, campaign: str, placement: str, data: Any) -> PolicyConfig:
        config = PolicyConfig.of(data)
        self.blobs.put_bytes(self.key(project, campaign, placement),
                             json.dumps(config.to_dict(), sort_keys=True).encode())
        return config


# -- contexts in request ids -------------------------------------------------------------

def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    return digits[n // 36] + digits[n % 36]


def encode_context(config: PolicyConfig, context: Mapping[str, str]) -> str:
    codes = []
    for name, values in (config.context or {}).items():
        value = context.get(name)
        codes.append(_b36(values.index(value)) if value in values else NONE_CODE)
    return config.tag + "".join(codes)


def decode_context(config: PolicyConfig, request_id: str) -> dict[str, str] | None:
    """The context a request id carries, if it was made under this context space."""
    _, sep, code = request_id.partition(".")
    if not sep or config.context is None or not code.startswith(config.tag):
        return None
    codes, names = code[4:], list(config.context)
    if len(codes) != 2 * len(names):
        return None
    out = {}
    for i, name in enumerate(names):
        c = codes[2 * i:2 * i + 2]
        if c != NONE_CODE:
            try:
                out[name] = config.context[name][int(c, 36)]
            except (ValueError, IndexError):
                return None
    return out
