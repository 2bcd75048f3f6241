"""`cpsync check` rules that need no database or Magento: the clock, orphans, the exit status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cpsync.check import Finding, Report
from cpsync.check.counterpoint import CounterpointFacts, clock_findings, create_index_statement
from cpsync.check.images import orphans
from cpsync.counterpoint.images import item_stems

CHICAGO = ZoneInfo("America/Chicago")
# A winter day: Chicago is at UTC-06:00.
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_given_the_servers_offset_matches_the_zone_when_checked_then_ok() -> None:
    (finding,) = clock_findings(NOW.replace(tzinfo=None), -360, CHICAGO, NOW)
    assert finding.level == "ok" and "UTC-06:00" in finding.sentence


def test_given_a_server_at_another_offset_when_checked_then_it_blocks_naming_both() -> None:
    # GIVEN a server on Eastern time while cpsync thinks Chicago
    (finding,) = clock_findings(NOW.replace(tzinfo=None), -300, CHICAGO, NOW)
    assert finding.level == "blocking"
    assert "UTC-05:00" in finding.sentence and "UTC-06:00" in finding.sentence
    assert "CPSYNC_TIMEZONE" in finding.fix


def test_given_a_server_clock_ten_minutes_off_when_checked_then_a_warning() -> None:
    server = (NOW - timedelta(minutes=10)).replace(tzinfo=None)
    (finding,) = clock_findings(server, -360, CHICAGO, NOW)
    assert finding.level == "warning" and "10 minutes" in finding.sentence


def test_orphans_are_images_no_item_name_nor_ecomm_img_file_matches() -> None:
    facts = CounterpointFacts(read=True, item_stems={*item_stems("MUG/12"), *item_stems("TEE")})
    facts.image_files.add("special-photo.png")
    names = [
        "MUG_12.jpg",
        "mug12^back.JPG",
        "tee^RED.jpg",
        "Special-Photo.PNG",
        "GONE.jpg",
        "a.txt",
    ]
    assert orphans(names, facts) == ["GONE.jpg"]


def test_the_exit_status_is_1_only_when_something_blocks() -> None:
    warning = Finding("images", "warning", "An orphan.", "Rename it.")
    assert Report([Finding("magento", "ok", "Fine."), warning]).exit_code == 0
    blocking = Report([warning, Finding("counterpoint", "blocking", "No table.", "Grant.")])
    assert blocking.exit_code == 1
    assert blocking.to_json()["counts"] == {"ok": 0, "warning": 1, "blocking": 1}


def test_the_index_advice_is_a_statement_a_dba_can_run() -> None:
    assert (
        create_index_statement("IM_INV", "RS_UTC_DT")
        == "CREATE INDEX IX_IM_INV_RS_UTC_DT ON dbo.IM_INV (RS_UTC_DT);"
    )
