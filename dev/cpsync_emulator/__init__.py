"""A Magento 2 REST emulator for the demo, tests and benchmarks (docs in ``cpsync_emulator.app``).

It follows ``docs/reference/magento.md``: routes under ``/rest[/<store>]/V1``, Magento's error
shapes, Bearer tokens, product upserts by SKU and searchCriteria, plus a cost and fault model.
"""

from __future__ import annotations

from cpsync_emulator.app import create_app
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.errors import MagentoError
from cpsync_emulator.faults import ENDPOINTS, Fault
from cpsync_emulator.runtime import Emulator
from cpsync_emulator.server import EmulatorHandle, EmulatorServer, running_emulator

__all__ = [
    "ENDPOINTS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorHandle",
    "EmulatorServer",
    "Fault",
    "MagentoError",
    "create_app",
    "running_emulator",
]
