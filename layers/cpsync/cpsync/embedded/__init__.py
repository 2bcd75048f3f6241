"""SQLite adapters of the queue and state ports, for one machine (`make demo`, small shops).

Both live in one SQLite file (`CPSYNC_STATE_URL`). The queue behaves like SQS: a receive
hides messages for a visibility timeout under a new receipt, counts receives, and a message
acked with an outdated receipt stays. Each operation is one statement or one transaction, so
two processes can share the file.
"""

from cpsync.embedded._tables import sqlite_engine
from cpsync.embedded.blobs import LocalBlobs
from cpsync.embedded.queue import SqliteQueue
from cpsync.embedded.state import SqliteState

__all__ = ["LocalBlobs", "SqliteQueue", "SqliteState", "sqlite_engine"]
