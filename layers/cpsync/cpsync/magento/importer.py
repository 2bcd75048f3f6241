"""New products through Magento's import (``POST /V1/import/json``): a first load in minutes.

A product save costs Magento 0.3-1 s of PHP each; its import engine writes thousands of rows
per call with bulk SQL. :class:`ProductImporter` takes the *new*, enabled products of a batch
(simple products, grid children, then grid parents with ``configurable_variations``), sends
them in files of up to ``rows`` rows, and then reads back with one search per page which SKUs
Magento holds. Only those records are reported applied; every other record is left to the
product writer's normal path, which saves it on its own and parks it with Magento's own
message if Magento refuses it there too. Magento's StartImport does not say which rows failed
(its answer is ``Entities Processed: N`` or "Maximum error count has been reached"), so the
read-back is what decides; a store that does list rows (``... in row(s): 2, 5``) gets those
messages logged against the record.

What a row carries is what the one-request create carries: name, descriptions, weight, tax
class, status, visibility, url key, price, quantity and stock status, category paths and the
website. A grid whose child SKUs hold the variation separators (``|``, ``,``, ``=``, as the
default ``ITEM|DIM1|DIM2`` child SKUs do) cannot be named in ``configurable_variations``: its
children are imported and its parent is created by the normal path (one save with options and
links), the children's fingerprints noted so they are not saved again.

Images: in AWS (presigned S3 links) or when the store can reach cpsync (``CPSYNC_PUBLIC_URL``),
a due gallery's images go in the image columns as signed links Magento downloads
(magento/image_links.py); the product writer's gallery step then adopts the entries by their
content tag. Otherwise the gallery writer uploads them after the import, as for any new product.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Literal

from cpsync.documents import IMAGE_ENTRIES, IMAGE_PENDING, EntryRef, ImageEntries
from cpsync.magento.categories import (
    CategoryApi,
    CategoryNode,
    new_product_categories,
    remember_links,
)
from cpsync.magento.client import MagentoClient, search_params, sku_filters
from cpsync.magento.configurable import GRID_DOC_KIND, OptionValues
from cpsync.magento.errors import MagentoError, MagentoRetryableError
from cpsync.magento.image_links import ImageLinks
from cpsync.magento.import_rows import ImportPlan, ImportRow, build_rows
from cpsync.magento.media import ImageWriter, tag_of
from cpsync.magento.product_fields import CreateRules, note_carried
from cpsync.magento.writer import Outcome
from cpsync.model import Change, ConfigurableState, ProductState, make_version
from cpsync.ports import AppliedRecord, StatePort

__all__ = [
    "ENTITIES",
    "ImportProbe",
    "ImportRow",
    "ProductImporter",
    "build_rows",
    "import_available",
]

logger = logging.getLogger(__name__)

ENDPOINT = "import.json"
#: The import entities cpsync could use (catalog_product today).
ENTITIES = ("catalog_product", "advanced_pricing", "stock_sources")
#: The import's image column of each gallery role.
ROLE_COLUMNS = {
    "image": "base_image",
    "small_image": "small_image",
    "thumbnail": "thumbnail_image",
    "swatch_image": "swatch_image",
}
_ROW_ERROR = re.compile(r"^(?P<message>.*) in row\(s\): (?P<rows>[\d, ]+)$")
#: SKUs per read-back search (one ``sku in [...]`` filter and page size).
CHECK_PAGE = 200


def import_available(client: MagentoClient, entity: str = "catalog_product") -> tuple[bool, str]:
    """Whether the store answers the import route for `entity`, and what it said.

    The probe sends no rows, so nothing is written. A store without Magento_ImportCsvApi
    answers 404; a store without the catalog_product adapter answers "Please enter a correct
    entity model."

    Raises:
        MagentoError: Magento refused the probe (401 no ACL; 5xx after retries).
    """
    try:
        answer = client.request(
            "POST", "import/json", endpoint=ENDPOINT, json={"source": _source([], entity)}
        )
    except MagentoError as exc:
        if exc.status == 404:
            return False, "the store has no import route (Magento_ImportCsvApi not installed)"
        raise
    text = "; ".join(str(a) for a in answer) if isinstance(answer, list) else str(answer)
    if "correct entity" in text:
        return False, f"the import route refuses {entity}: {text}"
    return True, text


class ImportProbe:
    """Whether the store's import takes one entity, asked once (a passing failure: next time).

    Args:
        client: The Magento client.
        entity: The import entity asked about.
        fallback: What is done instead, logged with the reason when the import is not used.
    """

    def __init__(self, client: MagentoClient, entity: str, fallback: str) -> None:
        self.client = client
        self.entity = entity
        self.fallback = fallback
        self._known: bool | None = None

    def __call__(self) -> bool:
        """Whether the import is used; a time limit or a passing 5xx asks again next time."""
        if self._known is None:
            try:
                self._known, said = import_available(self.client, self.entity)
            except MagentoRetryableError as exc:
                logger.info("%s for this batch: %s", self.fallback, exc)
                return False
            except MagentoError as exc:
                self._known, said = False, str(exc)
            if not self._known:
                logger.info("%s: %s", self.fallback, said)
        return self._known


def _source(items: list[ImportRow], entity: str = "catalog_product") -> dict[str, Any]:
    return {
        "entity": entity,
        "behavior": "append",
        "validation_strategy": "validation-skip-errors",
        "allowed_error_count": str(max(len(items), 1)),
        "items": items,
    }


class ProductImporter:
    """Creates a batch's new products through Magento's import; see the module docstring.

    Args:
        client: The Magento client.
        state: Magento ids, category links and grid documents are written here.
        options: Resolves (and creates) the option values grid children need.
        mode: ``auto``, ``on`` or ``off`` (CPSYNC_MAGENTO_IMPORT).
        min_new: More new products than this, in the batch or queued by the run that sent
            them, before ``auto`` imports.
        rows: Rows per import request.
        images: Image links per import request (Magento downloads them within the request).
        rules: How a create carries price, special price and stock (the product writer's).
    """

    def __init__(
        self,
        client: MagentoClient,
        state: StatePort,
        options: OptionValues,
        mode: Literal["auto", "on", "off"] = "auto",
        min_new: int = 500,
        rows: int = 5000,
        images: int = 500,
        rules: CreateRules | None = None,
    ) -> None:
        self.client = client
        self.state = state
        self.options = options
        self.mode = mode
        self.min_new = min_new
        self.rows = rows
        self.images = images
        #: What a create carries (the product writer's rules): the rows carry the same.
        self.rules = rules or CreateRules()
        self._available = ImportProbe(client, "catalog_product", "Magento's import is not used")
        #: Signed links Magento downloads images from (None: the gallery writer uploads them).
        self.links: ImageLinks | None = None
        #: Which galleries are due (the product writer's image writer), for the image columns.
        self.galleries: ImageWriter | None = None

    def available(self) -> bool:
        """Whether the store answers the import route (asked once per importer)."""
        return self._available()

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Import the new products among `changes`; an Outcome only for those Magento holds."""
        if self.mode == "off":
            return {}
        # Products in the batch, grid cells included: an upper bound of the new ones, known
        # without a state read (most batches of a running store are small updates).
        products = sum(1 + len(c.payload.get("children") or []) for c in changes)
        if self.mode == "auto" and not self._large(changes, products):
            return {}
        simple, grids = self._new_products(changes)
        if not simple and not grids:
            return {}
        if not self.available():
            return {}
        existing = self.client.find_products(
            [s.sku for s in simple] + [s for g in grids for s in (g.sku, *g.child_skus())],
            chunk=CHECK_PAGE,
        )
        simple = [s for s in simple if s.sku.lower() not in existing]
        grids = [
            g for g in grids if not any(s.lower() in existing for s in (g.sku, *g.child_skus()))
        ]
        grids = self._with_options(grids)
        categories = new_product_categories(self.state, [*simple, *grids])
        paths = self._category_paths(categories)
        plan, refused = build_rows(simple, grids, paths, self.rules, categories)
        plan.category_ids = categories
        self._add_images(plan)
        for key, why in refused.items():
            logger.info("product %s goes the normal way, not through the import: %s", key, why)
        self._send(plan)
        return self._read_back(plan)

    def _large(self, changes: Sequence[Change], count: int) -> bool:
        """More than `min_new` new products, in this batch or queued by the run that sent them.

        A first load arrives in many updater batches; the run log says how big it is.
        """
        if count > self.min_new:
            return True
        runs = {(c.task, c.run_id) for c in changes if c.run_id}
        for task in {t for t, _ in runs}:
            for run in self.state.runs(task=task, limit=10):
                if (task, run.run_id) in runs and int(run.counts.get("queued", 0)) > self.min_new:
                    return True
        return False

    def _new_products(
        self, changes: Sequence[Change]
    ) -> tuple[list[ProductState], list[ConfigurableState]]:
        """Enabled products and grids none of whose SKUs cpsync knows in Magento."""
        simple: list[ProductState] = []
        grids: list[ConfigurableState] = []
        for change in changes:
            if change.payload.get("type") == "configurable":
                grids.append(ConfigurableState.model_validate(change.payload))
            else:
                simple.append(ProductState.model_validate(change.payload))
        skus = [s.sku for s in simple] + [s for g in grids for s in (g.sku, *g.child_skus())]
        known = self.state.get_magento_ids("product", skus) if skus else {}
        simple = [s for s in simple if s.enabled and s.sku not in known]
        grids = [
            g for g in grids if g.enabled and not any(s in known for s in (g.sku, *g.child_skus()))
        ]
        return simple, grids

    def _with_options(self, grids: list[ConfigurableState]) -> list[ConfigurableState]:
        """Grids whose option values exist in Magento (created when missing, as a save needs)."""
        ready: list[ConfigurableState] = []
        for grid in grids:
            try:
                for option in grid.options:
                    self.options.resolve(option.code, option.values)
            except Exception as exc:  # the normal path parks it with the reason
                logger.info("grid %s goes the normal way: %s", grid.sku, exc)
                continue
            ready.append(grid)
        return ready

    def _category_paths(self, categories: dict[str, list[int]]) -> dict[str, str]:
        """The ``categories`` column by SKU: name paths from the root's child (one tree GET)."""
        if not any(categories.values()):
            return {}
        paths: dict[int, str] = {}

        def walk(node: CategoryNode, prefix: str) -> None:
            for child in node.children_data:
                if "/" in child.name or "," in child.name:
                    continue  # a name the column cannot hold: left to the Category Items task
                path = f"{prefix}/{child.name}" if prefix else child.name
                paths[child.id] = path
                walk(child, path)

        tree = CategoryApi(self.client).tree()
        if tree.level == 0:  # the catalog root: its children are the store roots
            walk(tree, "")
        else:
            paths[tree.id] = tree.name
            walk(tree, tree.name)
        return {
            sku: ",".join(paths[i] for i in ids if i in paths) for sku, ids in categories.items()
        }

    def _add_images(self, plan: ImportPlan) -> None:
        """Image columns (signed links) for the galleries due on the imported SKUs.

        The link's file name carries the gallery writer's content tag, so the writer, run by
        the product writer after the import, finds the entries Magento made and adopts them
        (one gallery GET per product, no upload).
        """
        if self.links is None or self.galleries is None or not plan.rows:
            return
        due = self.galleries.due([row["sku"] for row in plan.rows])
        self.links.prepare([e for desired in due.values() for e in desired.images])
        for row in plan.rows:
            desired = due.get(row["sku"])
            if desired is None or not desired.images:
                continue
            ordered = sorted(desired.images, key=lambda e: e.position)
            try:
                urls = {e.digest: self.links.url(e) for e in ordered}
            except Exception as exc:  # e.g. a blob gone: the gallery writer uploads or parks it
                logger.warning("%s: no image links for the import (%s)", row["sku"], exc)
                continue
            row["additional_images"] = ",".join(urls[e.digest] for e in ordered)
            plan.galleries[row["sku"]] = desired
            for entry in ordered:
                for role in entry.roles:
                    if column := ROLE_COLUMNS.get(role):
                        row[column] = urls[entry.digest]

    def _files(self, rows: list[ImportRow]) -> list[tuple[int, list[ImportRow]]]:
        """(first row index, rows) of each file: at most `rows` rows and `images` image links.

        Magento downloads every image inside the one request, hence the image cap.
        """
        files: list[tuple[int, list[ImportRow]]] = []
        start, images = 0, 0
        for index, row in enumerate(rows):
            count = len([u for u in row.get("additional_images", "").split(",") if u])
            if index > start and (index - start >= self.rows or images + count > self.images):
                files.append((start, rows[start:index]))
                start, images = index, 0
            images += count
        if start < len(rows):
            files.append((start, rows[start:]))
        return files

    def _send(self, plan: ImportPlan) -> None:
        """POST the rows file by file; row messages are logged per record."""
        for start, part in self._files(plan.rows):
            try:
                answer = self.client.request(
                    "POST", "import/json", endpoint=ENDPOINT, json={"source": _source(part)}
                )
            except MagentoError as exc:  # the read-back finds what landed; the rest goes on
                logger.warning("import of rows %d-%d failed: %s", start + 1, start + len(part), exc)
                continue
            for line in answer if isinstance(answer, list) else [answer]:
                found = _ROW_ERROR.match(str(line))
                if not found:
                    logger.info("Magento's import said: %s", line)
                    continue
                for number in found["rows"].split(","):
                    index = start + int(number) - 1
                    if number.strip() and 0 <= index - start < len(part):
                        sku = plan.rows[index]["sku"]
                        logger.warning(
                            "product %s: Magento's import refused its row: %s",
                            plan.owner.get(sku.lower(), sku),
                            found["message"],
                        )

    def _read_back(self, plan: ImportPlan) -> dict[str, Outcome]:
        """Search the imported SKUs (one search per page); keep ids, links and grid notes."""
        items = self._find([row["sku"] for row in plan.rows], bool(plan.galleries))
        found = {sku: int(item["id"]) for sku, item in items.items()}
        self.state.put_magento_ids(
            "product",
            {
                row["sku"]: found[row["sku"].lower()]
                for row in plan.rows
                if row["sku"].lower() in found
            },
        )
        self._adopt_galleries(plan, items)
        self._note_bare_galleries(plan, items)
        holds: dict[str, bool] = {}
        for sku, key in plan.owner.items():
            holds[key] = holds.get(key, True) and sku in found
        outcomes: dict[str, Outcome] = {}
        grid_docs: dict[str, dict[str, Any]] = {}
        for key, held in holds.items():
            grid = plan.grids.get(key)
            if grid is not None:
                if not all(c.sku.lower() in found for c in grid.children):
                    continue
                linked = key in plan.linked and held
                doc: dict[str, Any] = {
                    "children": {c.sku: c.fingerprint() for c in grid.children},
                    "linked": linked,
                }
                if linked:
                    doc |= {
                        "parent": grid.parent_fingerprint(),
                        "options": sorted(o.code for o in grid.options),
                    }
                grid_docs[key] = doc
                held = linked
            if held:
                outcomes[key] = Outcome.ok(key)
                if plan.category_ids.get(key):
                    remember_links(self.state, key, plan.category_ids[key])
        if grid_docs:
            self.state.put_docs(GRID_DOC_KIND, grid_docs)
        self._note_carried(plan, found)
        missing = len(holds) - len(outcomes)
        logger.info(
            "Magento's import holds %d of %d records; %d go the normal way",
            len(outcomes),
            len(holds),
            missing,
        )
        return outcomes

    def _note_carried(self, plan: ImportPlan, found: dict[str, int]) -> None:
        """Record what the rows Magento holds applied, exactly as a create does.

        The Price Changes and Inventory tasks (and the category links) then send nothing for
        these SKUs; a row Magento does not hold carried nothing.
        """
        carried: dict[str, dict[str, str]] = {}
        for sku, prints in plan.carried.items():
            if sku.lower() in found:
                for kind, print_ in prints.items():
                    carried.setdefault(kind, {})[sku] = print_
        if carried:
            note_carried(self.state, carried)

    def _find(self, skus: list[str], galleries: bool = False) -> dict[str, dict[str, Any]]:
        """Products by lower-case SKU (id, and the gallery when asked).

        One search per page of CHECK_PAGE SKUs.
        """
        found: dict[str, dict[str, Any]] = {}
        wanted = "id,sku,media_gallery_entries[id,file,types,position]" if galleries else "id,sku"
        for start in range(0, len(skus), CHECK_PAGE):
            page = skus[start : start + CHECK_PAGE]
            params = search_params([sku_filters(page)], page_size=CHECK_PAGE, current_page=1)
            params["fields"] = f"items[{wanted}],total_count"
            result = self.client.search_products(params)
            for item in result.get("items") or []:
                found[str(item["sku"]).lower()] = item
        return found

    def _note_bare_galleries(self, plan: ImportPlan, items: dict[str, dict[str, Any]]) -> None:
        """Note as empty the galleries of products imported without image columns.

        The gallery writer, run next for their due images, then uploads without a gallery
        GET first, as after a create (the entries it adds are then stored in place of these).
        """
        if self.galleries is None:
            return
        bare = [r["sku"] for r in plan.rows if r["sku"] not in plan.galleries]
        due = self.galleries.due([s for s in bare if s.lower() in items])
        if due:
            IMAGE_ENTRIES.put(self.state, {sku: ImageEntries() for sku in due})

    def _adopt_galleries(self, plan: ImportPlan, items: dict[str, dict[str, Any]]) -> None:
        """Record the galleries Magento downloaded exactly as wanted as applied.

        Wanted: entries carrying our tags, with the wanted roles and positions; recorded as
        ``ImageWriter.bring`` does after an upload (entry ids too), so the gallery writer then
        has nothing to do for them (no gallery GET). A gallery that differs in any way stays
        due and the writer puts it right.
        """
        adopted: dict[str, list[EntryRef]] = {}
        fingerprints: dict[str, str] = {}
        for sku, desired in plan.galleries.items():
            entries = (items.get(sku.lower()) or {}).get("media_gallery_entries") or []
            by_tag = {tag_of(e.get("file")): e for e in entries}
            refs: list[EntryRef] = []
            for image in desired.images:
                entry = by_tag.get(image.digest[:12])
                if entry is None or sorted(entry.get("types") or []) != sorted(image.roles):
                    break
                if int(entry.get("position") or 0) != image.position:
                    break
                refs.append(EntryRef(id=int(entry["id"]), digest=image.digest, file=image.file))
            else:
                if len(entries) == len(refs):
                    adopted[sku] = refs
                    fingerprints[sku] = desired.fingerprint()
        if not adopted:
            return
        IMAGE_ENTRIES.put(self.state, {s: ImageEntries(entries=r) for s, r in adopted.items()})
        version = make_version(None)
        self.state.put_sent("image", fingerprints)
        self.state.put_applied(
            "image", {s: AppliedRecord(version, f) for s, f in fingerprints.items()}
        )
        IMAGE_PENDING.delete(self.state, fingerprints)
