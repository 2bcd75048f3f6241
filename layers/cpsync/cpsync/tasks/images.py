"""The Images task (update): galleries found by Image Changes, pushed to products online.

See `tasks/image_changes.py` for how the two tasks split the work. This task reads only
cpsync's state (desired galleries in docs `image_desired`, pending SKUs in `image_pending`),
never the folder or Counterpoint:
- a changed run queues the pending galleries of products that are now online, and forgets them;
- a full run re-queues every desired gallery whose fingerprint differs from what was sent
  (reconciliation); with `force` it re-queues all of them, and the writer then compares with
  Magento's own gallery list, so entries deleted by hand come back;
- a run for keys (SKUs or item numbers) queues those galleries.

Entry point for the sync interface: `queue_images(ctx, keys)` ("queue", blue). "Sync now"
(green) runs this task for the keys with `emit=` and applies the Changes at once through the one
apply path (`Runtime.apply`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from cpsync.model import ImageState, Kind
from cpsync.ports import StatePort
from cpsync.tasks.base import RunResult, Task, TaskContext, Window
from cpsync.tasks.image_changes import DESIRED_DOC, PENDING_DOC, online_skus

__all__ = ["ImagesTask", "desired_galleries", "queue_images"]


@dataclass(frozen=True)
class _Gallery:
    sku: str
    item_no: str
    payload: dict[str, Any]


def desired_galleries(state: StatePort, keys: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """Desired-gallery docs by SKU for SKUs or item numbers; all of them when `keys` is None.

    An item brings the galleries of its grid children.
    """
    if keys is None:
        return state.get_docs(DESIRED_DOC)
    docs = state.get_docs(DESIRED_DOC, keys)
    children = [c for doc in docs.values() for c in doc.get("children", []) if c not in docs]
    if children:
        docs.update(state.get_docs(DESIRED_DOC, children))
    return docs


class ImagesTask(Task):
    """Pushes image galleries to products already online (see the module docstring)."""

    name: ClassVar[str] = "images"
    title: ClassVar[str] = "Images"
    kind: ClassVar[Kind] = "image"
    schedule: ClassVar[str] = "rate(15 minutes)"

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[_Gallery]:
        """The galleries Image Changes planned whose product is online now.

        A changed run takes the pending galleries, a full run every one, `keys` those of the
        SKUs or items. Pending galleries that were sent (or no longer exist) stop pending.
        """
        state = self.ctx.state
        if keys is None:
            pending = state.get_docs(PENDING_DOC)
            if window is not None:  # changed run: only the pending galleries
                docs = state.get_docs(DESIRED_DOC, list(pending)) if pending else {}
            else:  # full run: every gallery, the fingerprint filter keeps what differs
                docs = desired_galleries(state, None)
        else:
            docs = desired_galleries(state, keys)
            pending = state.get_docs(PENDING_DOC, list(docs)) if docs else {}
        online = online_skus(state, {sku: str(d.get("item_no", sku)) for sku, d in docs.items()})
        for sku in sorted(online):
            yield _Gallery(sku, str(docs[sku].get("item_no", sku)), docs[sku]["state"])
        done = [sku for sku in pending if sku in online or sku not in docs]
        if done:
            state.delete_docs(PENDING_DOC, done)

    def key_of(self, row: _Gallery) -> str:
        """The SKU whose gallery this is (a grid child has its own)."""
        return row.sku

    def build(self, row: _Gallery, extra: Any) -> ImageState:
        """The gallery Image Changes planned, as it stored it.

        Raises:
            pydantic.ValidationError: The stored plan no longer reads as an `ImageState`.
        """
        return ImageState.model_validate(row.payload)


def queue_images(ctx: TaskContext, keys: Sequence[str], force: bool = True) -> RunResult:
    """Queue the galleries of these SKUs or item numbers now (the sync interface's "queue").

    With `force` (the default) they are queued even when unchanged, and the writer reconciles
    them with Magento's gallery list.
    """
    return ImagesTask(ctx).run(keys=list(keys), force=force)
