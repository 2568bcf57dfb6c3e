"""services/accounting.py: the profile in force for a park and year, stored in the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.accounting import AccountingProfile, Boundary
from config.errors import RegistryError
from config.registry import ParkRegistry, demo_registry_path, load_registry
from services.accounting import (
    ACCOUNTING,
    AccountingProfileError,
    delete_profile,
    electricity_method,
    profile_for,
    profile_source,
    put_profile,
    registry_profile,
    with_method,
)
from store.base import Store
from store.embedded import EmbeddedStore

PARK = load_registry().parks["wuhan-demo"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "s.sqlite3")
    yield s
    s.close()


@pytest.fixture(params=["embedded_store", "influx_store"])
def any_store(request: pytest.FixtureRequest) -> Store:
    """The embedded store and a real InfluxDB (tests/conftest.py): the profile is stored the
    same way in both."""
    store: Store = request.getfixturevalue(request.param)
    return store


def test_without_a_stored_profile_the_registry_default_applies(store: EmbeddedStore) -> None:
    profile, source = profile_source(store, PARK, 2025)
    assert source == "registry"
    assert profile.name == "wuhan-demo/default"
    assert profile.electricity_method == "calorific_value"
    assert profile.rationale is not None
    assert "当量值" in profile.rationale
    # a park without an accounting block: the model's defaults under the park's name
    bare = PARK.model_copy(update={"park": PARK.park.model_copy(update={"accounting": None})})
    assert isinstance(bare, ParkRegistry)
    assert profile_source(store, bare, 2025) == (
        AccountingProfile(name="wuhan-demo/default"),
        "default",
    )
    assert registry_profile(bare).electricity_method == "calorific_value"


def test_put_get_delete_and_years_are_isolated(any_store: Store) -> None:
    store = any_store
    mine = AccountingProfile(
        name="wuhan-demo/2025 evaluator",
        electricity_method="coal_equivalent",
        rationale="等价值 as the evaluator asks / coal-equivalent as the evaluator asks",
        grid_factor="fixed",
        fixed_grid_factor_key="grid_excl_market_nonfossil",
        scope2_basis="net",
        gas_is_clean=True,
        boundary=Boundary(ev_charging=False, losses="outside"),
        pv_certificates="sold",
        flat_price_cny_per_kwh=0.71,
    )
    assert put_profile(store, PARK, 2025, mine) == mine
    assert profile_source(store, PARK, 2025) == (mine, "stored")
    # the years around it keep the registry default
    assert profile_for(store, PARK, 2024).name == "wuhan-demo/default"
    assert profile_for(store, PARK, 2026).name == "wuhan-demo/default"
    # a shorter profile replaces a longer one entirely (no tail of the old one is read)
    short = AccountingProfile(name="s")
    assert put_profile(store, PARK, 2025, short) == short
    assert profile_for(store, PARK, 2025) == short
    # delete: the default again, and deleting twice is harmless
    assert delete_profile(store, PARK, 2025).name == "wuhan-demo/default"
    assert profile_source(store, PARK, 2025)[1] == "registry"
    assert delete_profile(store, PARK, 2025).name == "wuhan-demo/default"


def test_a_long_chinese_rationale_survives_the_store(any_store: Store) -> None:
    store = any_store
    text = "园区按当量值统计综合能耗。" * 150  # 1,950 characters, 5,850 UTF-8 bytes
    mine = AccountingProfile(name="长理由", rationale=text)
    put_profile(store, PARK, 2025, mine)
    assert profile_for(store, PARK, 2025).rationale == text


def test_an_unknown_factor_key_is_refused_naming_the_field_and_nothing_is_stored(
    store: EmbeddedStore,
) -> None:
    bad = AccountingProfile(grid_factor="fixed", fixed_grid_factor_key="grid_atlantis")
    with pytest.raises(AccountingProfileError, match=r"^fixed_grid_factor_key: 'grid_atlantis'"):
        put_profile(store, PARK, 2025, bad)
    # a key of the table that is not a grid factor (kgCO2/m3) is refused as well
    gas = AccountingProfile(grid_factor="fixed", fixed_grid_factor_key="natural_gas_combustion")
    with pytest.raises(AccountingProfileError, match="fixed_grid_factor_key"):
        put_profile(store, PARK, 2025, gas)
    assert store.count(PARK.id, measurement=ACCOUNTING) == 0
    assert profile_source(store, PARK, 2025)[1] == "registry"


def test_method_names_and_the_legacy_ones() -> None:
    assert electricity_method("calorific_value") == "calorific_value"
    assert electricity_method("coal_equivalent") == "coal_equivalent"
    with pytest.raises(AccountingProfileError, match="use method=calorific_value"):
        electricity_method("equivalent_value")
    with pytest.raises(AccountingProfileError, match="use method=coal_equivalent"):
        electricity_method("coal_consumption")
    with pytest.raises(AccountingProfileError, match="not a method"):
        electricity_method("magic")


def test_a_method_override_renames_the_profile() -> None:
    base = AccountingProfile(name="wuhan-demo/2025")
    over = with_method(base, "coal_equivalent")
    assert over.electricity_method == "coal_equivalent"
    assert over.name == "wuhan-demo/2025 (method overridden: coal_equivalent)"
    assert with_method(base, "calorific_value") is base
    assert with_method(base, None) is base


def test_the_registry_refuses_an_unknown_fixed_factor_key_with_file_and_line(
    tmp_path: Path,
) -> None:
    text = (
        demo_registry_path()
        .read_text(encoding="utf-8")
        .replace(
            "    grid_factor: province\n",
            "    grid_factor: fixed\n    fixed_grid_factor_key: grid_atlantis\n",
        )
    )
    path = tmp_path / "park.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    (problem,) = caught.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip() == "accounting:")
    assert (problem.file, problem.line) == (str(path), line)
    assert "fixed_grid_factor_key: 'grid_atlantis' is not a grid factor" in problem.message
    # a method outside the two is refused there too, the field named
    path.write_text(
        text.replace(
            "fixed_grid_factor_key: grid_atlantis", "fixed_grid_factor_key: grid_average"
        ).replace("electricity_method: calorific_value", "electricity_method: equivalent_value"),
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match="electricity_method"):
        load_registry(path)
