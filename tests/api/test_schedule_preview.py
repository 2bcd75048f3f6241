"""Before saving a schedule, a person sees when it would run, in the store's time."""

from __future__ import annotations

from datetime import datetime


def test_given_a_daily_cron_when_previewed_then_three_runs_at_1am_store_time(make_api) -> None:
    api = make_api(timezone="America/New_York")
    client = api.keyed()
    answer = client.get("/api/schedules/preview", params={"expression": "cron(0 1 * * ? *)"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["zone"] == "America/New_York" and body["expression"] == "cron(0 1 * * ? *)"
    runs = [datetime.fromisoformat(t) for t in body["next_runs"]]
    assert len(runs) == 3
    assert all(r.hour == 1 and r.minute == 0 for r in runs)
    assert {r.utcoffset().total_seconds() / 3600 for r in runs} <= {-5.0, -4.0}


def test_given_a_unix_cron_when_previewed_then_the_stored_form_is_named(make_api) -> None:
    client = make_api(timezone="America/New_York").keyed()
    body = client.get("/api/schedules/preview", params={"expression": "0 1 * * *"}).json()
    assert body["expression"] == "cron(0 1 * * ? *)"


def test_given_nonsense_when_previewed_then_400_says_what_to_write(make_api) -> None:
    client = make_api().keyed()
    answer = client.get("/api/schedules/preview", params={"expression": "every day"})
    assert answer.status_code == 400
    assert "rate(10 minutes)" in answer.json()["detail"]


def test_given_no_sign_in_when_previewed_then_401(make_api) -> None:
    answer = (
        make_api().client().get("/api/schedules/preview", params={"expression": "rate(1 hour)"})
    )
    assert answer.status_code == 401


def test_given_a_unix_cron_when_saved_then_the_eventbridge_form_is_stored(make_api) -> None:
    client = make_api(timezone="America/New_York", with_scheduler=True).keyed()
    answer = client.put("/api/tasks/prices/schedule", json={"schedule": "0 1 * * *"})
    assert answer.status_code == 200 and answer.json()["schedule"] == "cron(0 1 * * ? *)"
    task = client.get("/api/tasks/prices").json()
    assert datetime.fromisoformat(task["next_run"]).hour == 1  # shown in the store's zone


def test_given_the_dashboard_then_it_names_the_store_zone(make_api) -> None:
    client = make_api(timezone="America/New_York").keyed()
    assert client.get("/api/dashboard").json()["zone"] == "America/New_York"
