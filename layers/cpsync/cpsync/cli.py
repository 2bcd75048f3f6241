"""`cpsync` on the command line: demo, run, drain, status, redrive, check.

Output for people uses Rich (progress bars, tables); `--json` prints one JSON document for
scripts instead. `run` and `drain` work against whatever Counterpoint and Magento the settings
name; only `demo` uses the sample database and the emulator.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from cpsync.errors import CpsyncError
from cpsync.magento.refusals import explain
from cpsync.ports import DeadLetter, record_of
from cpsync.redact import describe, install_log_filter
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks import TASKS, RunResult
from cpsync.updater import BatchResult, DrainResult

__all__ = ["main"]

console = Console(stderr=True)
logger = logging.getLogger(__name__)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


def run_tasks(
    runtime: Runtime,
    names: Sequence[str],
    full: bool,
    items: Sequence[str] | None,
    quiet: bool,
    failures: list[str] | None = None,
) -> list[RunResult]:
    """Run detection tasks in order, with a progress bar per task.

    Args:
        runtime: The wired adapters and tasks.
        names: The tasks to run, in this order.
        full: Read every row instead of the rows changed since the watermark.
        items: Only these item numbers (None: every item).
        quiet: No progress bars.
        failures: When given, a task that fails (Counterpoint unreachable, a table missing)
            adds one line here and the next tasks still run; otherwise its error is raised.

    Raises:
        CpsyncError: A task failed and no `failures` list was given.

    Returns:
        One result per task that ran.
    """
    results = []
    with _progress(quiet) as progress:
        for name in names:
            task = runtime.task(name)
            bar = progress.add_task(f"detect {name}", total=None)
            try:
                result = task.run(
                    full=full,
                    keys=list(items) if items else None,
                    force=bool(items),
                    progress=partial(progress.advance, bar),
                )
            except CpsyncError as exc:
                if failures is None:
                    raise
                failures.append(f"{name} failed: {exc}")
                continue
            results.append(result)
    return results


def drain_queue(runtime: Runtime, quiet: bool, max_wait: float = 60.0) -> DrainResult:
    """Drain the queue into Magento with a progress bar over the messages waiting."""
    depth = runtime.queue.depth()
    with _progress(quiet) as progress:
        bar = progress.add_task("update magento", total=depth.visible + depth.delayed or None)

        def advance(batch: BatchResult) -> None:
            progress.advance(bar, batch.applied + batch.skipped + batch.dead)

        return runtime.updater.drain(
            batch_size=runtime.settings.updater_batch_size,
            max_wait_seconds=max_wait,
            progress=advance,
        )


def _result_json(result: RunResult) -> dict[str, Any]:
    data = asdict(result)
    data["errors"] = [{"key": e.key, "message": e.message, "level": e.level} for e in result.errors]
    data["watermark"] = result.watermark.isoformat() if result.watermark else None
    return data


def _print_runs(results: Sequence[RunResult]) -> None:
    table = Table(title="Detection")
    for column in ("task", "mode", "read", "queued", "unchanged", "removed", "errors", "seconds"):
        table.add_column(column, justify="left" if column in ("task", "mode") else "right")
    for r in results:
        table.add_row(
            r.task,
            r.mode,
            str(r.read),
            str(r.queued),
            str(r.unchanged),
            str(r.removed),
            str(len(r.errors)),
            f"{r.seconds:.2f}",
        )
    console.print(table)
    for r in results:
        for error in r.errors[:20]:
            console.print(f"[yellow]{error.level}[/] {escape(error.message)}")
        if len(r.errors) > 20:
            console.print(f"... and {len(r.errors) - 20} more errors (see `cpsync status`)")


def status_data(runtime: Runtime) -> dict[str, Any]:
    """Queue depth, dead letters and the last run of each task."""
    depth = runtime.queue.depth()
    last = {}
    for name in TASKS:
        run = runtime.state.last_run(name)
        last[name] = (
            None
            if run is None
            else {
                "run_id": run.run_id,
                "status": run.status,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "counts": run.counts,
            }
        )
    dead = [_dead_json(d) for d in runtime.queue.dead_letters(limit=50)]
    return {"queue": asdict(depth), "dead_letters": dead, "last_runs": last}


def _dead_json(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter with its raw reason and, from the refusal table, cause and next step."""
    told = explain(letter.reason)
    kind, key, task = record_of(letter.body) or (None, None, None)
    return {
        "id": letter.id,
        "kind": kind,
        "key": key,
        "task": task,
        "reason": letter.reason,
        "group": told.group,
        "title": told.title,
        "cause": told.cause,
        "next_step": told.next_step,
        "receive_count": letter.receive_count,
    }


def _cmd_run(args: argparse.Namespace, runtime: Runtime) -> int:
    names = list(TASKS) if args.all else [args.task]
    if not args.all and not args.task:
        raise CpsyncError("name a task or pass --all; tasks are: " + ", ".join(TASKS))
    failures: list[str] = []
    results = run_tasks(runtime, names, args.full, args.item, args.json, failures)
    if args.json:
        print(json.dumps([_result_json(r) for r in results], indent=2))
    else:
        _print_runs(results)
    for line in failures:
        console.print(f"[red]cpsync:[/] {escape(line)}", soft_wrap=True)
    return 1 if failures else 0


def _cmd_drain(args: argparse.Namespace, runtime: Runtime) -> int:
    result = drain_queue(runtime, args.json, args.max_wait)
    stats = runtime.magento.stats()
    if args.json:
        print(json.dumps({"drain": asdict(result), "magento": stats}, indent=2))
    else:
        console.print(
            f"applied {result.applied}, skipped {result.skipped}, retried {result.retried}, "
            f"dead-lettered {result.dead} in {result.seconds:.2f} s"
        )
        for reason in result.errors[:20]:
            console.print(f"[red]dead letter[/] {reason}")
    return 0


def _cmd_status(args: argparse.Namespace, runtime: Runtime) -> int:
    data = status_data(runtime)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    q = data["queue"]
    console.print(
        f"queue: {q['visible']} waiting, {q['in_flight']} in flight, {q['delayed']} retrying, "
        f"{q['dead']} dead letters; oldest {q['oldest_age_seconds']:.0f} s"
    )
    for name, run in data["last_runs"].items():
        if run is None:
            console.print(f"{name}: never run")
        else:
            console.print(f"{name}: {run['status']} at {run['started_at']} {run['counts']}")
    for dead in data["dead_letters"]:
        record = f" ({dead['kind']} {dead['key']})" if dead["key"] else ""
        console.print(
            f"[red]dead letter {dead['id']}[/]{escape(record)}: {escape(dead['title'])}",
            soft_wrap=True,
        )
        console.print(f"  cause: {escape(dead['cause'])}", soft_wrap=True)
        console.print(f"  next step: {escape(dead['next_step'])}", soft_wrap=True)
    if data["dead_letters"]:
        console.print("The raw reasons: `cpsync status --json`; retry: `cpsync redrive`.")
    return 0


def _cmd_redrive(args: argparse.Namespace, runtime: Runtime) -> int:
    if args.discard:
        count = runtime.queue.discard_dead(args.id or [])
        console.print(f"discarded {count} dead letters")
        return 0
    if args.as_parked:
        moved = runtime.queue.redrive(args.id or None)
        console.print(f"put {len(moved)} dead letters back on the queue; run `cpsync drain`")
        return 0
    # As the page's Retry: read the records again from Counterpoint (the parked Change may be
    # stale: the merchant fixed the item), queue what is true now; older letters are discarded.
    from cpsync.deadletters import current, records_of, retry_from_counterpoint

    letters = current(runtime.queue, runtime.state)
    if args.id:
        wanted = set(args.id)
        letters = [d for d in letters if d.id in wanted]
    outcome = retry_from_counterpoint(runtime, records_of(letters))
    current(runtime.queue, runtime.state)  # settles the letters the retry replaced
    console.print(f"{outcome.summary()} Run `cpsync drain`.")
    return 1 if outcome.failed else 0


def _cmd_check(args: argparse.Namespace, runtime: Runtime) -> int:
    from cpsync.check import run_check

    report = run_check(runtime)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return report.exit_code
    marks = {
        "ok": "[green]ok[/]      ",
        "warning": "[yellow]warning[/] ",
        "blocking": "[red]blocking[/]",
    }
    out = Console()
    for finding in report.findings:
        out.print(
            f"{marks[finding.level]} {finding.area:<12} {escape(finding.sentence)}",
            soft_wrap=True,
        )
        if finding.fix and finding.level != "ok":
            out.print(f"{'':22}fix: {escape(finding.fix)}", soft_wrap=True)
    blocking = len(report.blocking)
    warnings = sum(1 for f in report.findings if f.level == "warning")
    out.print(
        f"{blocking} blocking, {warnings} warnings: "
        + (
            "nothing blocks a sync."
            if report.ok
            else "fix the blocking findings, then check again."
        )
    )
    return report.exit_code


def _cmd_demo(args: argparse.Namespace, _runtime: Runtime | None) -> int:
    from cpsync.demo import run_demo

    code: int = run_demo(items=args.items, as_json=args.json, console=console)
    return code


def _cmd_verify(args: argparse.Namespace, runtime: Runtime) -> int:
    from cpsync.verify import verify

    report = verify(runtime, repair=args.repair)
    data = report.to_json(examples=args.examples)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        _print_verify(data)
    return 1 if report.differs else (2 if report.errors else 0)


def _print_verify(data: dict[str, Any]) -> None:
    table = Table("kind", "checked", "differ", "example: Magento has -> Counterpoint asks")
    for kind, part in data["kinds"].items():
        if part["skipped"]:
            table.add_row(kind, "-", "-", escape(f"not compared: {part['skipped']}"))
            continue
        shown = [
            f"{ex['key']}: "
            + "; ".join(
                f"{f} {v['magento']!r} -> {v['counterpoint']!r}" for f, v in ex["fields"].items()
            )
            for ex in part["examples"]
        ]
        table.add_row(kind, str(part["checked"]), str(part["differ"]), escape("\n".join(shown)))
    console.print(table)
    console.print(f"{data['requests']} Magento requests in {data['seconds']:.2f} s")
    if data["repaired"]:
        console.print(f"queued {data['repaired']} forced changes; run `cpsync drain` to apply them")
    elif data["differ"]:
        console.print(
            "`cpsync verify --repair` queues a forced change for each record that differs"
        )


def _cmd_serve(args: argparse.Namespace, runtime: Runtime) -> int:
    from cpsync.serve import Service

    settings = runtime.settings
    host, port = args.host or settings.serve_host, args.port or settings.serve_port
    console.print(f"sync interface on http://{host}:{port}/ (Ctrl+C stops)")
    Service(runtime, host=host, port=port).run()
    return 0


def _cmd_hash_password(args: argparse.Namespace, _runtime: Runtime | None) -> int:
    """Print `user:<hash>` for CPSYNC_API_LOCAL_ADMIN.

    The password is read without echo, or from stdin when it is not a terminal.
    """
    import getpass

    from cpsync.api.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            console.print("[red]cpsync:[/] the passwords differ.")
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        console.print("[red]cpsync:[/] use at least 12 characters.")
        return 2
    print(f"{args.user}:{hash_password(password)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="cpsync", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="sample data -> tasks -> queue -> Magento emulator")
    demo.add_argument("--items", type=int, default=200, help="size of a new sample database")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(func=_cmd_demo, needs_runtime=False)

    run = sub.add_parser("run", help="detect changes and queue them")
    run.add_argument("task", nargs="?", choices=sorted(TASKS), help="the task to run")
    run.add_argument("--all", action="store_true", help="run every task")
    run.add_argument("--full", action="store_true", help="read every record, not only changes")
    run.add_argument("--item", action="append", help="only this record (repeatable); forces")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=_cmd_run, needs_runtime=True)

    drain = sub.add_parser("drain", help="apply queued changes to Magento")
    drain.add_argument("--max-wait", type=float, default=60.0, help="seconds to wait on retries")
    drain.add_argument("--json", action="store_true")
    drain.set_defaults(func=_cmd_drain, needs_runtime=True)

    status = sub.add_parser("status", help="queue depth, dead letters, last runs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_cmd_status, needs_runtime=True)

    redrive = sub.add_parser(
        "redrive",
        help="retry dead letters after a fix: their records are read again from Counterpoint",
    )
    redrive.add_argument("--id", action="append", help="only this dead letter (repeatable)")
    redrive.add_argument("--discard", action="store_true", help="delete the --id dead letters")
    redrive.add_argument(
        "--as-parked",
        action="store_true",
        help="resend the parked Changes as they are, without reading Counterpoint again",
    )
    redrive.set_defaults(func=_cmd_redrive, needs_runtime=True)

    check = sub.add_parser("check", help="what in this store differs from what cpsync needs")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.set_defaults(func=_cmd_check, needs_runtime=True)

    serve = sub.add_parser("serve", help="scheduler + updater + sync interface in one process")
    serve.add_argument("--host", help="address to listen on (CPSYNC_SERVE_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (CPSYNC_SERVE_PORT)")
    serve.set_defaults(func=_cmd_serve, needs_runtime=True)

    verify = sub.add_parser("verify", help="compare Magento with what Counterpoint asks for")
    verify.add_argument("--repair", action="store_true", help="queue what differs (forced)")
    verify.add_argument("--examples", type=int, default=5, help="records shown per kind")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=_cmd_verify, needs_runtime=True)

    hashed = sub.add_parser(
        "hash-password",
        help="make CPSYNC_API_LOCAL_ADMIN (user:<hash>) for sign-in without Magento",
    )
    hashed.add_argument("--user", default="admin", help="the local admin's user name")
    hashed.set_defaults(func=_cmd_hash_password, needs_runtime=False)

    from cpsync.agent import add_agent_parser  # the store agent (AWS)

    add_agent_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cpsync` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_filter()
    runtime = None
    try:
        if args.needs_runtime:
            runtime = Runtime(load_settings())
        code: int = args.func(args, runtime)
        return code
    except CpsyncError as exc:
        console.print(f"[red]cpsync:[/] {escape(describe(exc))}", soft_wrap=True, markup=True)
        return 2
    except SQLAlchemyError as exc:
        logger.debug("database error", exc_info=True)
        console.print(
            f"[red]cpsync:[/] a database did not answer: {escape(describe(exc))}",
            soft_wrap=True,
            markup=True,
        )
        return 2
    finally:
        if runtime is not None:
            runtime.close()


if __name__ == "__main__":
    sys.exit(main())
