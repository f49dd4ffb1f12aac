"""Plain-Python change events, so engine objects can be observed without Qt.

The GUI bridges these to Qt signals in one place; tests and the command line use them as
they are. Modelled on napari's `EmitterGroup`, much reduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Listener = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """What changed. `kind` names the emitter; the other fields depend on it."""

    kind: str
    node: Any = None
    edge: Any = None
    key: str | None = None
    old: Any = None
    new: Any = None
    index: int | None = None


class EventEmitter:
    """A list of listeners called in order. A listener that raises is not hidden."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._listeners: list[Listener] = []

    def connect(self, listener: Listener) -> Listener:
        if listener not in self._listeners:
            self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, **fields: Any) -> Event:
        event = Event(self.kind, **fields)
        for listener in list(self._listeners):
            listener(event)
        return event


class EmitterGroup:
    """Named emitters plus `any`, which fires after each of them with the same event."""

    def __init__(self, *kinds: str) -> None:
        self.any = EventEmitter("any")
        self._kinds = kinds
        for kind in kinds:
            setattr(self, kind, _Chained(kind, self.any))

    @property
    def kinds(self) -> tuple[str, ...]:
        return self._kinds


class _Chained(EventEmitter):
    def __init__(self, kind: str, then: EventEmitter) -> None:
        super().__init__(kind)
        self._then = then

    def emit(self, **fields: Any) -> Event:
        event = super().emit(**fields)
        for listener in list(self._then._listeners):
            listener(event)
        return event
