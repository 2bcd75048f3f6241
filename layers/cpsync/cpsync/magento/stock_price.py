"""The stock and price writers, configured from Settings (one line in the runtime wiring)."""

from __future__ import annotations

from cpsync.magento.client import MagentoClient
from cpsync.magento.inventory import StockWriter
from cpsync.magento.prices import PriceWriter
from cpsync.magento.writer import Writer
from cpsync.ports import StatePort
from cpsync.settings import Settings

__all__ = ["stock_price_writers"]


def stock_price_writers(
    client: MagentoClient,
    settings: Settings,
    state: StatePort | None = None,
    concurrency: int | None = None,
) -> dict[str, Writer]:
    """The `stock` and `price` writers, by kind.

    `concurrency` defaults to CPSYNC_MAGENTO_CONCURRENCY (the runtime gives the client
    limiter's ceiling).
    """
    concurrency = concurrency or settings.magento_concurrency
    stock = StockWriter(
        client,
        mode=settings.stock_mode,
        chunk_size=settings.bulk_size,
        concurrency=concurrency,
        state=state,
        import_min=0 if settings.magento_import == "off" else settings.magento_import_stock_min,
        import_rows=settings.magento_import_rows,
    )
    price = PriceWriter(
        client,
        store_id=settings.price_store_id,
        chunk_size=settings.bulk_size,
        concurrency=concurrency,
        state=state,
    )
    return {stock.kind: stock, price.kind: price}
