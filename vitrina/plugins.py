"""Plug-in registries: one per kind of plug-in, owned by the runtime.

A plug-in is a small object behind one Protocol (a media kind, a step, an analyser, a
blob store). Each kind has one :class:`Registry`, validated as things are added, and
the runtime holds them all in :class:`Registries`. A plug-in module outside the
package registers through one function::

    def register(registries: Registries) -> None:
        registries.analysers.add(MyAnalyser())

and is named in the ``plugins`` setting. Boot refuses a module that cannot be
imported, has no ``register``, or adds a name twice, naming the culprit.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from vitrina.errors import ConfigError

if TYPE_CHECKING:
    from vitrina.analysis.base import Analyser
    from vitrina.batch.engines import BackfillEngine
    from vitrina.kinds import MediaKind
    from vitrina.llm import TextGenerator
    from vitrina.pipeline.steps import Step
    from vitrina.recs.models import Recommender
    from vitrina.storage.blobs import StoreKind

T = TypeVar("T")
_NAME = re.compile(r"[a-z][a-z0-9_.+-]{0,63}")


class Registry(Generic[T]):
    """Plug-ins of one kind by name, in registration order.

    ``required`` names the attributes every plug-in must have (callables among them
    must be callable); ``key`` gives the name a plug-in is registered under.
    """

    def __init__(self, kind: str, required: Iterable[str], key: Callable[[T], str] | None = None) -> None:
        self.kind = kind
        self.required = tuple(required)
        self._key = key or (lambda plugin: getattr(plugin, "name", None))
        self._items: dict[str, T] = {}

    def add(self, plugin: T, *, replace: bool = False) -> T:
        """Register ``plugin``; a second one under the same name is refused unless
        ``replace`` says so on purpose (tests, a plug-in overriding a built-in)."""
        name = self._check(plugin)
        if name in self._items and not replace:
            raise ConfigError(f"{self.kind} {name!r} is registered twice", details={"name": name})
        self._items[name] = plugin
        return plugin

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise ConfigError(f"no {self.kind} named {name!r}; known: {known}",
                              details={"name": name}) from None

    def find(self, name: str) -> T | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def _check(self, plugin: T) -> str:
        name = self._key(plugin)
        shown = type(plugin).__name__
        if not isinstance(name, str) or _NAME.fullmatch(name.rsplit("/", 1)[-1]) is None:
            raise ConfigError(f"{self.kind} {shown} needs a name of lowercase letters, digits, "
                              f"'_', '.', '+' or '-' (got {name!r})")
        for attr in self.required:
            if not hasattr(plugin, attr):
                raise ConfigError(f"{self.kind} {name!r} ({shown}) has no {attr!r}",
                                  details={"name": name, "missing": attr})
        return name


def _step_key(step: Any) -> str | None:
    kind, name = getattr(step, "kind", None), getattr(step, "name", None)
    return f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) else None


@dataclass
class Registries:
    """Every plug-in the runtime knows, by kind."""

    kinds: Registry[MediaKind] = field(default_factory=lambda: Registry(
        "media kind", ("name", "suffixes", "probe_step", "transformable", "sniff", "validate", "steps", "inputs")))
    steps: Registry[Step] = field(default_factory=lambda: Registry(
        "step", ("name", "version", "kind", "requires", "run"), key=_step_key))
    analysers: Registry[Analyser] = field(default_factory=lambda: Registry(
        "analyser", ("name", "version", "input", "model", "batch_size", "analyse")))
    stores: Registry[StoreKind] = field(default_factory=lambda: Registry("blob store", ("name", "open")))
    engines: Registry[BackfillEngine] = field(default_factory=lambda: Registry("backfill engine", ("name", "run")))
    #: recommender model classes by name (a class is called with its parameters)
    recommenders: Registry[type[Recommender]] = field(default_factory=lambda: Registry(
        "recommender", ("name", "version", "fit", "recommend", "recommend_for_history",
                        "similar_items", "save", "load")))
    #: text generator classes by name, each built from the settings with ``configure``
    #: (decision 030)
    text_generators: Registry[type[TextGenerator]] = field(default_factory=lambda: Registry(
        "text generator", ("name", "model", "configure", "generate")))

    def add_kind(self, kind: MediaKind) -> MediaKind:
        """Register a media kind with its own steps (a plug-in may then replace one of
        them on purpose: ``steps.add(step, replace=True)``)."""
        self.kinds.add(kind)
        for step in kind.steps():
            self.steps.add(step)
        return kind


def load_plugin(module_name: str, registries: Registries) -> None:
    """Import ``module_name`` and call its ``register(registries)``."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"plugins: cannot import {module_name!r}: {exc}",
                          details={"plugin": module_name}) from exc
    register = getattr(module, "register", None)
    if not callable(register):
        raise ConfigError(f"plugins: {module_name!r} has no register(registries) function",
                          details={"plugin": module_name})
    register(registries)
