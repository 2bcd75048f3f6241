"""REST routing: the ``/rest/<store>/V1/...`` grammar and a table of (method, path template).

The store segment is resolved before matching (docs/reference/magento.md#url-and-store-scope): a
known store code or ``all`` is stripped, anything else stays in the path and so matches nothing.
Segments are split on the *raw* path and decoded one by one, so a SKU sent as ``MUG%2F12`` is one
segment ``MUG/12`` (Starlette's decoded ``path`` would have split it in two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from cpsync_emulator.errors import MagentoError, input_errors, required_field
from cpsync_emulator.store import StoreView, Topology

if TYPE_CHECKING:
    from cpsync_emulator.runtime import Emulator

__all__ = ["Handler", "RestPath", "RestRequest", "Route", "Router", "parse_rest_path"]

Handler = Callable[["RestRequest"], Any]


@dataclass(frozen=True)
class Route:
    """One service route: ``Route("GET", "/V1/products/:sku", "products.get", handler, acl)``.

    ``resource`` is the ACL resource named in a 401; None marks an anonymous route.

    Optional, for the framework's generic behaviours:

    - ``records`` names the body parameter whose items are the records of the per-record cost
      (``record_costs_ms``); the handler checks its input limit itself (with its entity type).
    - ``arrays`` maps a top-level body parameter that is a list of entities to the entity type
      Magento names in the input-limit error, e.g.
      ``{"prices": "\\Magento\\...\\BasePriceInterface"}``.
      With input limits on, the dispatcher refuses more than 20 items (5,000 through async bulk)
      with ``Maximum items of type "%type" is %max``; the per-record cost counts its items.
    - ``array_limit`` overrides the 20-item limit for this route (webapi.xml
      ``input-array-size-limit``).
    - ``service`` is the ``Class::method`` an async bulk operation reports on success
      (``Service execution success %1``); ``None`` derives a name from the endpoint.
    - ``body`` names required top-level body parameters; async and bulk requests check every
      item for them up front and answer a synchronous 400 (issue #36881), as Magento does.
    """

    method: str
    template: str
    endpoint: str
    handler: Handler
    resource: str | None
    #: Body parameter holding the records a bulk route charges per-record cost for.
    records: str | None = None
    arrays: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    service: str | None = None
    array_limit: int | None = None
    body: tuple[str, ...] = ()
    #: Rows of a body for the per-record cost when no array parameter holds them (import).
    count: Callable[[Any], int] | None = field(default=None, hash=False, compare=False)

    @property
    def parts(self) -> tuple[str, ...]:
        """Template segments; ``:name`` segments capture one path segment."""
        return tuple(self.template.strip("/").split("/"))

    @property
    def static_count(self) -> int:
        """Literal segments: more literals wins over a placeholder (``products/types``)."""
        return sum(1 for part in self.parts if not part.startswith(":"))

    @property
    def bulk_parts(self) -> tuple[str, ...]:
        """Template of the ``async/bulk`` form: ``:sku`` becomes the literal ``bySku``.

        See docs/reference/magento.md#async-bulk.
        """
        return tuple(
            f"by{part[1].upper()}{part[2:]}" if part.startswith(":") else part
            for part in self.parts
        )

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        """Path parameters if the decoded segments fit the template, else None."""
        parts = self.parts
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith(":"):
                params[part[1:]] = segment
            elif part != segment:
                return None
        return params

    def match_bulk(self, segments: tuple[str, ...]) -> bool:
        """True if the segments are this route's ``async/bulk`` path (``by<Param>`` literals)."""
        return self.bulk_parts == segments

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the path parameters, in order (``sku``, ``entryId``)."""
        return tuple(part[1:] for part in self.parts if part.startswith(":"))


class Router:
    """Routes by method; the most specific match wins."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._routes: list[Route] = []
        self.add(*routes)

    def add(self, *routes: Route) -> None:
        """Register routes (later extensions add categories, inventory, prices, ...)."""
        self._routes.extend(routes)
        self._routes.sort(key=lambda route: -route.static_count)

    def match(self, method: str, segments: tuple[str, ...]) -> tuple[Route, dict[str, str]] | None:
        """The route and its path parameters, or None (→ 404 no route)."""
        for route in self._routes:
            if route.method != method:
                continue
            params = route.match(segments)
            if params is not None:
                return route, params
        return None

    def match_bulk(self, method: str, segments: tuple[str, ...]) -> Route | None:
        """The route whose ``by<Param>`` form is ``segments`` (``async/bulk``), or None."""
        for route in self._routes:
            if route.method == method and route.match_bulk(segments):
                return route
        return None

    @property
    def endpoints(self) -> list[str]:
        """Every endpoint name, for fault and cost configuration."""
        return sorted({route.endpoint for route in self._routes})


@dataclass(frozen=True)
class RestPath:
    """A REST path split into its store scope, async mode and decoded segments from ``V1`` on.

    ``mode`` is ``""`` for a synchronous call, ``"async"`` or ``"async/bulk"``
    (docs/reference/magento.md#async-bulk).
    """

    view: StoreView
    segments: tuple[str, ...]
    mode: str = ""


def parse_rest_path(
    raw_path: bytes, topology: Topology, *, reject_encoded_slash: bool = False
) -> RestPath | None:
    """Resolve ``/rest[/<store>]/V1/...`` (docs/reference/magento.md#url-and-store-scope); None
    means no route can match.

    Args:
        raw_path: the path exactly as sent, still percent-encoded.
        topology: the store codes that exist.
        reject_encoded_slash: answer no route for ``%2F``, as Apache does by default.
    """
    text = raw_path.decode("latin-1")
    if reject_encoded_slash and "%2f" in text.lower():
        return None
    parts = [unquote(part, errors="replace") for part in text.strip("/").split("/")]
    if len(parts) < 2 or parts[0] != "rest":
        return None
    view = topology.resolve(parts[1])
    if view is None:
        # Not a store code: nothing is stripped, the segment stays in the path
        # (docs/reference/magento.md#url-and-store-scope).
        return _async_mode(RestPath(view=topology.default_view, segments=tuple(parts[1:])))
    return _async_mode(RestPath(view=view, segments=tuple(parts[2:])))


def _async_mode(path: RestPath) -> RestPath:
    """Strip ``async`` or ``async/bulk`` in front of ``V1``.

    See store code first, docs/reference/magento.md#async-bulk.
    """
    segments = path.segments
    if segments[:2] == ("async", "bulk"):
        return RestPath(path.view, segments[2:], "async/bulk")
    if segments[:1] == ("async",):
        return RestPath(path.view, segments[1:], "async")
    return path


def _loose(name: str) -> str:
    """Compare parameter names the way Magento does: ignore ``_`` and case.

    See docs/reference/magento.md#request-format.
    """
    return name.replace("_", "").lower()


@dataclass
class RestRequest:
    """What a handler gets: the emulator, the matched route and scope, query and decoded body."""

    emulator: Emulator
    route: Route
    method: str
    view: StoreView
    params: dict[str, str]
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None

    def body_param(self, name: str) -> Any:
        """A top-level body parameter (snake or camel case).

        Raises:
            MagentoError: 400 ``"%fieldName" is required`` when it is absent.
        """
        if isinstance(self.body, dict):
            wanted = _loose(name)
            for key, value in self.body.items():
                if _loose(key) == wanted:
                    return value
        raise required_field(name)

    def body_params(self, *names: str) -> list[Any]:
        """Several required body parameters; all missing ones are reported together.

        Raises:
            MagentoError: 400 ``"%fieldName" is required`` for one missing parameter, or
                ``One or more input exceptions have occurred.`` with ``errors[]`` for several.
        """
        values: list[Any] = []
        missing: list[MagentoError] = []
        for name in names:
            try:
                values.append(self.body_param(name))
            except MagentoError as exc:
                missing.append(exc)
        if missing:
            raise input_errors(missing)
        return values
