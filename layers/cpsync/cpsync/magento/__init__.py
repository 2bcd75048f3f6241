"""Magento 2 REST: the client and the writers per kind.

- `client`: `MagentoClient` (retries, adaptive concurrency, counters), `sku_path`,
  `chunks_for_limit`, `search_params`;
- `auth`: Bearer, admin token and OAuth 1.0a flows, chosen by `CPSYNC_MAGENTO_AUTH`;
- `errors`: Magento's answers mapped to what to do (retry, dead-letter, stop);
- `limiter`: the AIMD limit shared by a client's callers;
- `models`: pydantic models of product and bulk requests and answers;
- `bulk`: async bulk submit, status polling and per-record outcomes;
- `writer` and one module per kind (`products`, ...).
"""
