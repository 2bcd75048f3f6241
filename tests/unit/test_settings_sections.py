"""Settings split into one mixin per section still behave as one configuration.

An operator sets `CPSYNC_...` variables and never sees the sections: every field is read from
the environment whichever section declares it, the validators of every section still refuse bad
values by name, and the page lists the sections in the order the code declares them.
"""

from __future__ import annotations

import pytest

from cpsync.errors import ConfigurationError
from cpsync.settings import SECTIONS, Settings, load_settings


def test_a_variable_of_every_section_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN one variable per section set in the environment
    values = {
        "timezone": "Europe/Paris",
        "magento_store_code": "default",
        "magento_bulk_size": "7",
        "magento_import_rows": "2000",
        "grid_sku_separator": "-",
        "magento_root_category_id": "3",
        "stock_mode": "legacy",
        "price_store_id": "1",
        "image_jpeg_quality": "90",
        "queue_max_receives": "5",
        "serve_port": "9000",
        "stack_name": "shop",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"CPSYNC_{name.upper()}", value)
    # WHEN the settings are read
    settings = load_settings()
    # THEN each one has the environment's value, and the sections' properties use them
    assert {n: str(getattr(settings, n)) for n in values} == values
    assert settings.bulk_size == 7
    assert str(settings.zone) == "Europe/Paris"
    assert [s.title for s in SECTIONS if not set(s.fields) & set(values)] == []


def test_an_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPSYNC_SERVE_PORT", "9000")
    assert load_settings(serve_port=9001).serve_port == 9001


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CPSYNC_TIMEZONE", "Mars/Olympus"),
        ("CPSYNC_PRICE_DATES_TIMEZONE", "Mars/Olympus"),
        ("CPSYNC_MAGENTO_TRANSIENT_MESSAGES", "(unclosed"),
        ("CPSYNC_IMAGES_MIRROR_URL", "/not/s3"),
        ("CPSYNC_API_KEYS", '["short"]'),
        ("CPSYNC_API_LOCAL_ADMIN", "admin:plain"),
    ],
)
def test_each_sections_validator_refuses_a_bad_value_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_the_page_lists_one_section_per_mixin_in_declaration_order() -> None:
    assert [s.title for s in SECTIONS] == [
        "Counterpoint",
        "Magento: connection and sign-in",
        "Magento: requests, limits and bulk",
        "Magento: the import of a first load",
        "Items and grids",
        "Categories",
        "Inventory",
        "Prices and promotions",
        "Images",
        "State, queue and retries",
        "Sync interface and API",
        "AWS",
    ]
    assert Settings.model_config.get("env_prefix") == "CPSYNC_"
    assert Settings.model_config.get("extra") == "ignore"
