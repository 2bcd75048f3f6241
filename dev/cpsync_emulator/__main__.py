"""Standalone emulator: ``python -m cpsync_emulator --port 8081 --fault products.save:503:0.3``.

Runs in the foreground until Ctrl+C; the catalog is written to ``--state-file`` on shutdown.
Runtime changes go through ``POST /__emulator/config``; counters are at ``/__emulator/stats``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from cpsync_emulator.app import create_app
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.faults import ENDPOINTS, FAULT_KINDS, Fault
from cpsync_emulator.runtime import Emulator

__all__ = ["build_config", "main", "parse_args"]

logger = logging.getLogger("cpsync_emulator")


def _cost(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if not name or not value:
        raise argparse.ArgumentTypeError(f"{text!r} is not ENDPOINT=MS")
    return name, float(value)


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; every one maps to an :class:`EmulatorConfig` field."""
    parser = argparse.ArgumentParser(prog="python -m cpsync_emulator", description=__doc__)
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=8081)
    add("--token", default=EmulatorConfig().token, help="integration token (Bearer)")
    add("--admin-username", default="admin")
    add("--admin-password", default="admin123")
    add("--store-code", action="append", default=[], help="extra store view code (repeatable)")
    add("--latency-ms", type=float, default=0.0, help="added to every REST request")
    add("--workers", type=int, default=4, help="requests served at once (PHP-FPM children)")
    add("--cost", type=_cost, action="append", default=[], metavar="ENDPOINT=MS")
    add(
        "--record-cost",
        type=_cost,
        action="append",
        default=[],
        metavar="ENDPOINT=MS",
        help="worker time per record (array item) by endpoint",
    )
    add(
        "--kb-cost",
        type=_cost,
        action="append",
        default=[],
        metavar="ENDPOINT=MS",
        help="worker time per KiB of request body by endpoint",
    )
    add("--bulk-consumers", type=int, default=1, help="async operation consumers")
    add("--two-factor", action="store_true", help="2FA on: the admin token endpoint refuses")
    add(
        "--no-integration-bearer",
        action="store_true",
        help="refuse the integration token as Bearer (Magento 2.4.4+ default)",
    )
    add("--oauth-consumer-key", default=EmulatorConfig().oauth_consumer_key)
    add("--oauth-consumer-secret", default=EmulatorConfig().oauth_consumer_secret)
    add("--oauth-access-token", default=EmulatorConfig().oauth_access_token)
    add("--oauth-access-token-secret", default=EmulatorConfig().oauth_access_token_secret)
    add("--fault", type=_fault, action="append", default=[], metavar="ENDPOINT:KIND:RATE")
    add("--seed", type=int, default=0, help="seed of the fault generator")
    add("--timeout-seconds", type=float, default=30.0, help="delay of a 'timeout' fault")
    add("--state-file", type=Path, default=None, help="catalog JSON, loaded and saved")
    add("--reject-encoded-slash", action="store_true", help="404 for %%2F, like Apache")
    add("--clamp-pages", action="store_true", help="paging past the end repeats the last page")
    add("--input-limits", action="store_true", help="20 items per array, pageSize max 300")
    add("--log-level", default="info")
    parser.epilog = f"endpoints: {', '.join(ENDPOINTS)}; fault kinds: {', '.join(FAULT_KINDS)}"
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the options describe."""
    costs = EmulatorConfig().costs_ms | dict(args.cost)
    return EmulatorConfig(
        token=args.token,
        admin_username=args.admin_username,
        admin_password=args.admin_password,
        store_codes=["default", *args.store_code],
        latency_ms=args.latency_ms,
        workers=args.workers,
        costs_ms=costs,
        faults=args.fault,
        seed=args.seed,
        timeout_seconds=args.timeout_seconds,
        state_file=args.state_file,
        reject_encoded_slash=args.reject_encoded_slash,
        clamp_pages=args.clamp_pages,
        input_limit_enabled=args.input_limits,
        record_costs_ms=dict(args.record_cost),
        kb_costs_ms=dict(args.kb_cost),
        bulk_consumers=args.bulk_consumers,
        admin_two_factor=args.two_factor,
        integration_bearer_enabled=not args.no_integration_bearer,
        oauth_consumer_key=args.oauth_consumer_key,
        oauth_consumer_secret=args.oauth_consumer_secret,
        oauth_access_token=args.oauth_access_token,
        oauth_access_token_secret=args.oauth_access_token_secret,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    emulator = Emulator(build_config(args))
    logger.info(
        "Magento emulator on http://%s:%d/rest (faults: %s)",
        args.host,
        args.port,
        ", ".join(f.spec() for f in emulator.config.faults) or "none",
    )
    uvicorn.run(
        create_app(emulator),
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
