"""Scenario files: validation, composition by extends/overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import ScenarioError
from planner.scenario import Scenario, load_scenario, scenario_overrides

LIBRARY = Path(__file__).resolve().parents[1] / "scenarios"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_library_scenario_validates_and_states_its_question(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert len(sc.question) > 20


def test_library_composes_base_and_named_overrides() -> None:
    base = load_scenario(LIBRARY / "default.yaml")
    growth = load_scenario(LIBRARY / "growth_2040.yaml")
    cut = load_scenario(LIBRARY / "budget_cut.yaml")
    assert growth.demand.year == 2040 and base.demand.year == 2024
    assert cut.budget.annual == pytest.approx(0.8 * base.budget.annual)
    b = load_scenario(LIBRARY / "weston_option_b.yaml")
    assert b.localities == ("Weston, Worle and Villages",)
    assert b.hubs.exact_hubs == 2 and b.popups.enabled
    assert b.budget.annual == load_scenario(LIBRARY / "weston_option_a.yaml").budget.annual
    assert "year_2040" in scenario_overrides(LIBRARY / "budget_cut.yaml")


def test_apply_on_the_command_line_stacks_after_the_file(tmp_path: Path) -> None:
    sc = load_scenario(LIBRARY / "default.yaml", apply=["year_2040", "budget_cut_20"])
    assert sc.demand.year == 2040
    assert sc.budget.annual == 2_400_000


def test_a_budget_cut_cuts_each_scenarios_own_budget() -> None:
    """``budget_cut_20`` once set £2.4m outright, so on Weston (£900,000) or the South Bristol pioneer (£700,000) the
    "cut" raised the budget; a value written ``{times: x}`` scales the scenario's own number."""
    for name, budget in [
        ("weston_option_a", 900_000),
        ("weston_option_b", 900_000),
        ("south_bristol_pioneer", 700_000),
    ]:
        assert load_scenario(name).budget.annual == budget
        assert load_scenario(name, apply=["budget_cut_20"]).budget.annual == pytest.approx(0.8 * budget)


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            "cut: {budget: {annual: {times: 0.8}}}",
            r"override 'cut', field 'budget\.annual' \(value \{times: 0\.8\}\) "
            r"scales a number, but the scenario's value is null",
        ),
        ("cut: {budget: {annual: {times: -1}}}", r"override 'cut', field 'budget\.annual' .*at least 0"),
        ("cut: {hubs: {max_hubs: {times: 2}}}", r"override 'cut', field 'hubs\.max_hubs' .* value is null"),
        ("cut: {budget: {annual: {times: half}}}", r"override 'cut', field 'budget\.annual' \(value \{times: 'half'"),
    ],
)
def test_an_override_that_cannot_scale_names_the_file_the_override_and_the_field(
    tmp_path: Path, overrides: str, pattern: str
) -> None:
    path = write(
        tmp_path,
        "nobudget.yaml",
        f"extends: {LIBRARY / 'default.yaml'}\nbudget: {{annual: null}}\noverrides:\n  {overrides}\n",
    )
    with pytest.raises(ScenarioError, match=rf"nobudget\.yaml: {pattern}"):
        load_scenario(path, apply=["cut"])


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", "budget:\n  anual: 100\n")
    with pytest.raises(ScenarioError, match=r"typo\.yaml: unknown key 'budget\.anual'"):
        load_scenario(path)


def test_bad_value_names_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "travel:\n  mode: bicycle\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: field 'travel\.mode' \(value 'bicycle'\)"):
        load_scenario(path)


def test_negative_budget_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "neg.yaml", "budget:\n  annual: -5\n")
    with pytest.raises(ScenarioError, match=r"field 'budget\.annual' \(value -5\)"):
        load_scenario(path)


def test_unknown_specialty_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "spec.yaml", "mdt:\n  workforce: {dermatology: 2}\n")
    with pytest.raises(ScenarioError, match="unknown specialty 'dermatology'"):
        load_scenario(path)


def test_popups_only_in_evening_slots(tmp_path: Path) -> None:
    path = write(tmp_path, "slots.yaml", "popups:\n  slots: [weekday_day]\n")
    with pytest.raises(ScenarioError, match="pop-ups run only in"):
        load_scenario(path)


def test_site_both_fixed_open_and_closed(tmp_path: Path) -> None:
    path = write(tmp_path, "both.yaml", "sites:\n  fixed_open: ['gp:L81004']\n  closed: ['gp:L81004']\n")
    with pytest.raises(ScenarioError, match="'gp:L81004' is both fixed open and closed"):
        load_scenario(path)


def test_unknown_override_lists_the_known_ones(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "overrides:\n  cheap: {budget: {annual: 1}}\n")
    path = write(tmp_path, "child.yaml", "extends: base.yaml\napply: [dear]\n")
    with pytest.raises(ScenarioError, match=r"no such override \(cheap\)"):
        load_scenario(path)


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="makes a cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_library_scenarios_load_by_name_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_scenario("weston_option_b")`` (and so ``solve_scenario``) finds the library file wherever a script
    runs, as the command line does; a path is read as a path (here a file of the user's own named like a library
    scenario), and an unknown name is an error that lists the library."""
    monkeypatch.chdir(tmp_path)
    assert load_scenario("weston_option_b") == load_scenario(LIBRARY / "weston_option_b.yaml")
    write(tmp_path, "default.yaml", "name: mine\nbudget: {annual: 1000000}\n")
    assert load_scenario("default.yaml").name == "mine"
    with pytest.raises(ScenarioError, match=r"no_such_scenario: scenario file not found, nor a library .*\bdefault\b"):
        load_scenario("no_such_scenario")


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.yaml")
    path = write(tmp_path, "broken.yaml", "budget: [1, 2\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(path)
    path = write(tmp_path, "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(path)


def test_scenarios_are_frozen_and_changes_are_validated() -> None:
    sc = Scenario()
    with pytest.raises(Exception, match="frozen"):
        sc.budget.annual = 1.0  # type: ignore[misc]
    changed = sc.with_changes({"budget": {"annual": 1_000_000}})
    assert changed.budget.annual == 1_000_000 and sc.budget.annual != 1_000_000
    with pytest.raises(ScenarioError, match=r"unknown key 'hubs\.colour'"):
        sc.with_changes({"hubs": {"colour": "red"}})


def test_relative_extra_sites_file_is_resolved_against_the_scenario(tmp_path: Path) -> None:
    path = write(tmp_path, "extra.yaml", "sites:\n  extra_file: my_sites.csv\n")
    sc = load_scenario(path)
    assert sc.sites.extra_file == str((tmp_path / "my_sites.csv").resolve())


def test_a_bases_sites_file_is_found_beside_the_base_whichever_file_extends_it(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "base.yaml", "sites:\n  extra_file: my_sites.csv\noverrides:\n  theirs:\n"
                                       "    sites: {extra_file: their_sites.csv}\n")  # fmt: skip
    child = write(tmp_path / "b", "child.yaml", "extends: ../a/base.yaml\nbudget: {annual: 500000}\n")
    assert load_scenario(child).sites.extra_file == str((tmp_path / "a" / "my_sites.csv").resolve())
    applied = load_scenario(child, apply=["theirs"])
    assert applied.sites.extra_file == str((tmp_path / "a" / "their_sites.csv").resolve())
    own = write(tmp_path / "b", "own.yaml", "extends: ../a/base.yaml\nsites: {extra_file: mine.csv}\n")
    assert load_scenario(own).sites.extra_file == str((tmp_path / "b" / "mine.csv").resolve())


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("budget: {annual: .inf}", r"field 'budget\.annual' \(value inf\): Input should be a finite number"),
        ("demand: {scale: .nan}", r"field 'demand\.scale' \(value nan\): Input should be a finite number"),
        ("budget: {annual: true}", r"field 'budget\.annual' \(value True\): must be a number, not true or false"),
        ("localities: []", r"field 'localities' \(value \[\]\): .*at least 1 item"),
        ("sites: {hub_kinds: [castle]}", r"field 'sites\.hub_kinds\.0' \(value 'castle'\): Input should be 'gp'"),
        ("sites: {popup_kinds: [castle]}", r"field 'sites\.popup_kinds\.0' \(value 'castle'\)"),
        ("travel: {thresholds: [-5, 20]}", r"field 'travel\.thresholds\.0' \(value -5\): .*greater than 0"),
        (
            "travel: {popup_place_metres: -800}",
            r"field 'travel\.popup_place_metres' \(value -800\): .*greater than or equal to 0",
        ),
        ("travel: {nearest_popups: 0}", r"field 'travel\.nearest_popups' \(value 0\): .*greater than or equal to 1"),
        (
            "mdt: {workforce: {diabetes: -1}}",
            r"field 'mdt\.workforce': workforce sessions for 'diabetes' must be >= 0, got -1",
        ),
        ("apply: 5", r"field 'apply' \(value 5\) must be a list of override names"),
        ("apply: {year_2040: 1}", r"field 'apply' .* must be a list of override names"),
    ],
)
def test_values_no_planner_means_are_rejected_with_field_and_value(tmp_path: Path, text: str, pattern: str) -> None:
    # each of these passed validation (or crashed with a traceback) and then failed or misled in the solve
    path = write(tmp_path, "odd.yaml", f"extends: {LIBRARY / 'default.yaml'}\n{text}\n")
    with pytest.raises(ScenarioError, match=rf"odd\.yaml: {pattern}"):
        load_scenario(path)


def test_site_kinds_in_the_schema_are_the_datasets() -> None:
    from typing import get_args

    from geodata.sites import KINDS
    from planner.scenario import SiteKind

    assert get_args(SiteKind) == KINDS


def test_a_file_extending_a_base_is_named_after_itself_unless_it_says_otherwise(tmp_path: Path) -> None:
    plain = write(tmp_path, "my_option.yaml", f"extends: {LIBRARY / 'default.yaml'}\nbudget: {{annual: 2000000}}\n")
    assert load_scenario(plain).name == "my_option"  # not the base's "default": run folders and errors say so
    named = write(tmp_path, "file.yaml", f"extends: {LIBRARY / 'default.yaml'}\nname: option_c\n")
    assert load_scenario(named).name == "option_c"


def test_a_key_given_twice_is_an_error_not_the_last_one_silently(tmp_path: Path) -> None:
    path = write(tmp_path, "twice.yaml", "budget: {annual: 1}\nname: x\nbudget: {annual: 2000000}\n")
    with pytest.raises(ScenarioError, match=r"(?s)twice\.yaml: not valid YAML: key 'budget' appears twice.*line 3"):
        load_scenario(path)
