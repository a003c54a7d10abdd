"""``Shadow``: the equivalence check inside the running application.

Each shadowed call is an experiment in Scientist's sense: the side named by ``use`` is the
*control* (its result, or its exception, is what the caller gets), the other is the *candidate*
(observed, normalized, judged against the control and published, never allowed to reach the
caller). See :class:`Shadow`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, TypeVar

from harness.errors import ConfigError
from harness.records import Side
from harness.registry import Pair, PairOptions, Registry, load_pairs
from harness.shadow.observe import CandidatePool, Outcome, _Busy, acall_side, call_side, is_async
from harness.shadow.publisher import Publisher
from harness.shadow.record import record_line, verdict
from harness.shadow.sinks import make_sink
from harness.shadow.traffic import Traffic

log = logging.getLogger("harness.shadow")

F = TypeVar("F", bound=Callable[..., Any])
SIDES = ("legacy", "new")
_JSON_SCALARS = (str, int, float, bool, type(None))


class Shadow:
    """Run the legacy and the new side of a router operation on live traffic, compare, publish.

    Example::

        shadow = Shadow(sink="shadow.jsonl", sample=0.1, enabled=os.environ.get("SHADOW") == "1",
                        pairs=["my_app.shadow_pairs"], timeout=0.5)

        def list_issues(db, session, org, status=None):
            return shadow.run("issue.list",
                              legacy=lambda: legacy_list(db, org, status),
                              new=lambda: new_list(session, org, status),
                              use="legacy", tenant_id=org, params={"status": status})

    ``run`` returns the ``use`` side's result, or re-raises that side's own exception; nothing of
    the other side (its exception, its timeout) and nothing of the shadow itself (a comparison
    that fails, a sink that is down) ever reaches the caller.

    Parameters:

    * ``sink``: a JSON Lines path (default ``shadow.jsonl``; ``{pid}`` is replaced), a
      ``logging.Logger``, a callable taking each record as a dict, or a
      :class:`~harness.shadow.sinks.Sink`.
    * ``sample``: the fraction of calls (0..1) on which the candidate runs too.
    * ``enabled``: the kill switch, a bool or a callable read on every call (a feature flag);
      also settable later (``shadow.enabled = False``). Disabled, ``run`` costs one function
      call and calls the ``use`` side alone.
    * ``pairs``: registered pairs whose options apply by name: a
      :class:`~harness.registry.Registry`, ``Pair`` objects (``pair("issue.list",
      ordered=True)``) or pair modules to load (dotted names or ``.py`` paths). An operation with
      no pair compares with the defaults (unordered top-level lists, tenant guard on).
    * ``timeout``: seconds the caller waits for the candidate at most (None: no limit, and the
      candidate runs in the caller's thread). With a timeout it runs in one of ``workers``
      daemon threads; when all are taken by hanging candidates, the candidate is skipped.
    * ``match_sample``: the fraction of equal calls published (mismatches and errors always are).
    * ``queue_size``: records waiting for the writer at most; more are dropped and counted.
    * ``max_value_chars``: each side's normalized value is cut to this many characters of JSON
      (and to 50 rows) in a record.
    * ``stats_interval``: seconds between ``stats`` records (totals per operation).

    Thread-safe: one ``Shadow`` serves every thread of the application. For ``asyncio``, use
    :meth:`arun` (or decorate an ``async def``).
    """

    def __init__(
        self,
        sink: object = "shadow.jsonl",
        *,
        sample: float = 1.0,
        enabled: bool | Callable[[], bool] = True,
        pairs: Registry | Iterable[Pair | str] | None = None,
        timeout: float | None = None,
        workers: int = 4,
        match_sample: float = 0.05,
        queue_size: int = 1000,
        max_value_chars: int = 10_000,
        stats_interval: float = 10.0,
    ) -> None:
        for name, value in (("sample", sample), ("match_sample", match_sample)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError.bad_value(f"Shadow({name}=...)", value, "a fraction from 0 to 1")
        if timeout is not None and timeout <= 0:
            raise ConfigError.bad_value("Shadow(timeout=...)", timeout, "seconds, more than 0")
        for name, count in (("workers", workers), ("queue_size", queue_size)):
            if count < 1:
                raise ConfigError.bad_value(f"Shadow({name}=...)", count, "1 or more")
        self.sample = sample
        self.match_sample = match_sample
        self.timeout = timeout
        self.max_value_chars = max_value_chars
        self.enabled = enabled
        self.traffic = Traffic()
        self.publisher = Publisher(
            make_sink(sink),
            queue_size=queue_size,
            stats_interval=stats_interval,
            stats=self._stats_line,
        )
        self._pool = CandidatePool(workers)
        self._pairs = _pair_index(pairs)
        self._defaults: dict[str, Pair] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    # -- the kill switch ---------------------------------------------------------------------------

    @property
    def enabled(self) -> bool | Callable[[], bool]:
        """The kill switch: a bool, or a callable read on every call."""
        return self._switch if self._switch is not None else self._on

    @enabled.setter
    def enabled(self, value: bool | Callable[[], bool]) -> None:
        self._on: bool = True
        self._switch: Callable[[], bool] | None = None
        if callable(value):
            self._switch = value
        else:
            self._on = bool(value)

    def _active(self, name: str) -> bool:
        """Whether this call runs the candidate too; counts the call when the shadow is on."""
        try:
            if self._switch is not None and not self._switch():
                return False
            self.traffic.count(name, "calls")
            return random.random() < self.sample
        except Exception as exc:  # a flag service that fails must not fail the request
            self._warn_once("switch", f"the enabled= switch raised {type(exc).__name__}: {exc}")
            return False

    # -- running -----------------------------------------------------------------------------------

    def run(
        self,
        name: str,
        *,
        legacy: Callable[..., Any],
        new: Callable[..., Any],
        use: str = "legacy",
        tenant_id: Any = None,
        params: Mapping[str, Any] | None = None,
        writes: bool = False,
        sandbox: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> Any:
        """Call the ``use`` side and return its result (or raise its exception); shadow the other.

        ``writes=True`` marks a writing operation. Its candidate runs only with a ``sandbox``: a
        callable returning a context manager (``DualORM.rolled_back`` for a new-side candidate,
        ``DualORM.rolled_back_legacy`` for a legacy one) whose value is passed to the candidate
        (``new=lambda session: create_issue(session, ...)``) and whose work is rolled back. The
        candidate then runs first, from the same state the control sees; without a sandbox only
        the control runs (counted as ``refused``). Writes are never made twice.
        """
        if not self._on:
            return (legacy if use != "new" else new)()
        if not self._active(name):
            return (legacy if use != "new" else new)()
        control, candidate, use = self._roles(name, legacy, new, use)
        if writes and sandbox is None:
            self.traffic.count(name, "refused")
            self._warn_once(
                f"writes:{name}",
                f"{name}: writes=True without sandbox=; only the {use} side runs "
                "(a write is never made twice)",
            )
            return control()
        cand_side: Side = "new" if use == "legacy" else "legacy"
        cand_func = _in_sandbox(candidate, sandbox) if writes else candidate
        if writes or random.random() < 0.5:  # a write's candidate first: the state before it
            cand = self._candidate(name, cand_side, cand_func)
            ctl = call_side(use, control)
            order = (cand_side, use)
        else:
            ctl = call_side(use, control)
            cand = self._candidate(name, cand_side, cand_func)
            order = (use, cand_side)
        if cand is not None:
            self._judge_and_publish(name, use, tenant_id, params, ctl, cand, order)
        if ctl.exc is not None:
            raise ctl.exc
        return ctl.value

    async def arun(
        self,
        name: str,
        *,
        legacy: Callable[..., Any],
        new: Callable[..., Any],
        use: str = "legacy",
        tenant_id: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """:meth:`run` for ``asyncio``: either side may be ``async`` (its result is awaited).

        With a ``timeout``, an ``async`` candidate is cancelled when it runs over; a synchronous
        one runs in a worker thread (so it cannot block the event loop past the timeout).
        Writing operations are shadowed by :meth:`run` only.
        """
        control = legacy if use != "new" else new
        if not self._on or not self._active(name):
            value = control()
            return await value if inspect.isawaitable(value) else value
        control, candidate, use = self._roles(name, legacy, new, use)
        cand_side: Side = "new" if use == "legacy" else "legacy"
        if random.random() < 0.5:
            cand = await self._acandidate(name, cand_side, candidate)
            ctl = await acall_side(use, control)
            order = (cand_side, use)
        else:
            ctl = await acall_side(use, control)
            cand = await self._acandidate(name, cand_side, candidate)
            order = (use, cand_side)
        if cand is not None:
            self._judge_and_publish(name, use, tenant_id, params, ctl, cand, order)
        if ctl.exc is not None:
            raise ctl.exc
        return ctl.value

    def shadowed(
        self,
        name: str,
        *,
        new: Callable[..., Any],
        use: str = "legacy",
        tenant: str | None = None,
        params: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """Decorator form: the decorated function is the legacy side, ``new`` takes the same arguments.

        ``tenant`` names the argument holding the tenant id; ``params`` the arguments to record
        (default: every argument whose value is a JSON scalar, the tenant's excepted). An
        ``async def`` gets an ``async`` wrapper (:meth:`arun`). Example::

            @shadow.shadowed("issue.list", new=new_list_issues, tenant="org")
            def list_issues(org, status=None): ...
        """
        if use not in SIDES:
            raise ConfigError.bad_value("shadowed(use=...)", use, "'legacy' or 'new'")
        names = None if params is None else tuple(params)

        def decorate(func: F) -> F:
            signature = inspect.signature(func)

            def details(
                args: tuple[Any, ...], kwargs: dict[str, Any]
            ) -> tuple[Any, dict[str, Any]]:
                bound = signature.bind_partial(*args, **kwargs).arguments
                tenant_id = bound.get(tenant) if tenant else None
                chosen = (
                    names
                    if names is not None
                    else [
                        k for k, v in bound.items() if k != tenant and isinstance(v, _JSON_SCALARS)
                    ]
                )
                return tenant_id, {k: bound[k] for k in chosen if k in bound}

            def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
                """Both sides bound to the caller's arguments, and what the record keeps."""
                tenant_id, recorded = details(args, kwargs)
                return {
                    "legacy": functools.partial(func, *args, **kwargs),
                    "new": functools.partial(new, *args, **kwargs),
                    "use": use,
                    "tenant_id": tenant_id,
                    "params": recorded,
                }

            if is_async(func):

                @functools.wraps(func)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    return await self.arun(name, **call(args, kwargs))

                return async_wrapper  # type: ignore[return-value]

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if not self._on:
                    return (func if use == "legacy" else new)(*args, **kwargs)
                return self.run(name, **call(args, kwargs))

            return wrapper  # type: ignore[return-value]

        return decorate

    # -- publishing --------------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record so far (and a fresh ``stats`` record) reached the sink."""
        return self.publisher.flush(timeout)

    def close(self) -> None:
        """Write what is queued and the final ``stats``, close the sink, stop the workers."""
        self.publisher.close()
        self._pool.shutdown()

    def __enter__(self) -> Shadow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pair_for(self, name: str) -> Pair:
        """The pair whose options judge ``name``: the registered one, else the defaults."""
        found = self._pairs.get(name)
        if found is not None:
            return found
        with self._lock:
            pair = self._defaults.get(name)
            if pair is None:
                options = PairOptions(router=name.split(".", 1)[0])
                pair = self._defaults[name] = Pair(name, options, "harness.shadow defaults")
            return pair

    # -- inside ------------------------------------------------------------------------------------

    def _roles(
        self, name: str, legacy: Callable[..., Any], new: Callable[..., Any], use: str
    ) -> tuple[Callable[..., Any], Callable[..., Any], Side]:
        if use == "new":
            return new, legacy, "new"
        if use != "legacy":
            self._warn_once(f"use:{name}", f"{name}: use={use!r} is not 'legacy' or 'new'")
        return legacy, new, "legacy"

    def _candidate(self, name: str, side: Side, func: Callable[[], Any]) -> Outcome | None:
        if self.timeout is None:
            return call_side(side, func)
        outcome = self._pool.run(side, func, self.timeout)
        if outcome is None:
            self.traffic.count(name, "busy")
        return outcome

    async def _acandidate(self, name: str, side: Side, func: Callable[[], Any]) -> Outcome | None:
        if self.timeout is None:
            return await acall_side(side, func)
        in_thread = None if is_async(func) else self._pool
        try:
            return await asyncio.wait_for(acall_side(side, func, in_thread=in_thread), self.timeout)
        except _Busy:
            self.traffic.count(name, "busy")
            return None
        except TimeoutError:
            from harness.shadow.observe import CandidateTimeout

            exc = CandidateTimeout(f"the {side} side did not return within {self.timeout:g} s")
            return Outcome(side, exc=exc, ms=self.timeout * 1000.0)

    def _judge_and_publish(
        self,
        name: str,
        use: str,
        tenant_id: Any,
        params: Mapping[str, Any] | None,
        control: Outcome,
        candidate: Outcome,
        order: tuple[Side, Side],
    ) -> None:
        """Judge and queue the record; whatever goes wrong here stays here."""
        try:
            legacy, new = (control, candidate) if use == "legacy" else (candidate, control)
            pair = self.pair_for(name)
            result = verdict(
                pair,
                tenant_id=tenant_id,
                params=dict(params or {}),
                legacy=legacy,
                new=new,
                order=order,
            )
            both_returned = legacy.exc is None and new.exc is None
            self.traffic.compared(
                name,
                result.status,
                legacy.ms if both_returned else 0.0,
                new.ms if both_returned else 0.0,
            )
            if result.status == "equal" and random.random() >= self.match_sample:
                return
            line = record_line(
                result,
                router=pair.router,
                use=use,
                legacy=legacy,
                new=new,
                max_value_chars=self.max_value_chars,
            )
            if not self.publisher.submit(result.status, line):
                self.traffic.count(name, "dropped")
        except Exception as exc:
            self.traffic.count(name, "error")
            self._warn_once(
                f"judge:{name}", f"{name}: the shadow failed ({type(exc).__name__}: {exc})"
            )

    def _stats_line(self) -> str | None:
        return self.traffic.stats_line(
            dropped_total=self.publisher.dropped, sink_errors=self.publisher.sink_errors
        )

    def _warn_once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        log.warning("harness.shadow: %s", message)


def _in_sandbox(
    candidate: Callable[[Any], Any], sandbox: Callable[[], AbstractContextManager[Any]] | None
) -> Callable[[], Any]:
    """The candidate run inside ``sandbox()`` (its work rolled back), given what it yields.

    The value is normalized by the judge after the sandbox closed, so a returned ORM instance
    keeps the values it had (``DualORM.rolled_back`` does not expire them).
    """
    assert sandbox is not None

    def run() -> Any:
        with sandbox() as handle:
            return candidate(handle)

    return run


def _pair_index(pairs: Registry | Iterable[Pair | str] | None) -> dict[str, Pair]:
    if pairs is None:
        return {}
    if isinstance(pairs, Registry):
        found = list(pairs)
    else:
        items = list(pairs)
        modules = [p for p in items if isinstance(p, str)]
        found = [p for p in items if isinstance(p, Pair)]
        if modules:
            found.extend(load_pairs(modules, include_default=False))
    index: dict[str, Pair] = {}
    for p in found:
        if p.options.writes:  # row changes are compared offline, in the suite
            p = _reads_view(p)
        index[p.name] = p
    return index


def _reads_view(p: Pair) -> Pair:
    view = Pair(p.name, replace(p.options, writes=False, watch=()), p.where)
    view.normalize_hook = p.normalize_hook
    return view
