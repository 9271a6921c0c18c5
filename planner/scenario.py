"""Scenarios: what to plan, validated and frozen.

A scenario is a YAML file validated by the pydantic models below (``extra="forbid"``, ``frozen=True``):
a misspelt key is an error that names the key and the file. A scenario may ``extends:`` a base file
(relative path) and ``apply:`` named overrides, defined under ``overrides:`` in itself or in any base;
the base is merged first, then the scenario's own keys, then each named override in order.

Units used throughout: demand and capacity in *contacts per week* (one contact = one person attending
one appointment or group session), money in pounds per year, travel in minutes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from geodata.demand import DemandParameters
from planner.errors import ScenarioError

Slot = Literal["weekday_day", "weekday_evening", "saturday"]
EVENING_SLOTS: tuple[Slot, ...] = ("weekday_evening", "saturday")
"""Slots that people who can only attend out of working hours can use."""
SPECIALTIES: tuple[str, ...] = ("diabetes", "cardiovascular", "chronic_pain")
Mode = Literal["car", "pt", "walk"]
SiteKind = Literal["gp", "pharmacy", "library", "school", "hospital", "user"]
"""The kinds of candidate site (``geodata.sites.KINDS``)."""
WEEKS_PER_YEAR = 48.0
"""Weeks a year that sessions run (four weeks of bank holidays and breaks), used to annualise session costs."""


class _Frozen(BaseModel):
    # inf and nan are no numbers a planner means (an infinite budget is ``null``), so they are rejected
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads YAML's true as 1 for a number field: `annual: true` would be a budget of one pound
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            # the field itself, or each option of an optional one (``float | None``)
            options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
            if any(option in (int, float) for option in options):
                raise ValueError("must be a number, not true or false")
        return value


class DemandSettings(_Frozen):
    """Which year's demand to plan for and the demand model's parameters."""

    year: int = Field(2024, ge=2024, le=2040)
    """Demand year: 2024 (HT2040 baseline) or 2040 (+50% complex cohort); years between are interpolated."""
    parameters: DemandParameters = DemandParameters()
    """Demand-model constants (cohort sizes, deprivation gradient, evening-only share, MDT shares), each with its
    source."""
    include_at_risk: bool = True
    """Plan for the at-risk cohort (about 38,000 people) as well as the complex cohort."""
    scale: float = Field(1.0, gt=0)
    """Multiply all demand by this factor (sensitivity testing)."""


class HubService(_Frozen):
    """Community hubs: a building opened for a neighbourhood's long-term-condition care."""

    fixed_cost: float = Field(180_000.0, ge=0)
    """Annual cost of running a hub in pounds (staffed rooms, admin; assumption, no BNSSG figure found)."""
    capacity_day: float = Field(220.0, gt=0)
    """Weekday daytime contacts a hub can give per week (about 5 clinicians' sessions; assumption)."""
    evening_cost: float = Field(150_000.0, ge=0)
    """Extra annual cost of opening a hub on weekday evenings and Saturdays: about 22 hours of appointments a
    week x 48 weeks at the enhanced-access rate of about £143 an hour, £151,000 (FACTS: £7.46 per patient a
    year for 60 minutes per 1,000 patients a week). Its capacity, 2 slots x ``capacity_evening`` = 96 contacts a
    week, assumes about 4.4 contacts an hour (assumption)."""
    capacity_evening: float = Field(48.0, ge=0)
    """Contacts per week a hub open in the evening gives in each evening slot (weekday evening, Saturday)."""
    min_per_locality: int = Field(1, ge=0)
    """Core offer: hubs every locality partnership must keep (0 switches the rule off)."""
    max_hubs: int | None = Field(None, ge=0)
    """Upper limit on hubs across BNSSG (``None``: only the budget limits them)."""
    exact_hubs: int | None = Field(None, ge=0)
    """Open exactly this many hubs (a p-median-like lever for 'what if we open N hubs')."""


class PopupService(_Frozen):
    """Pop-up sessions: a room in a school, library or surgery, or a bus, run in evening or Saturday slots."""

    enabled: bool = True
    """Allow pop-up sessions at all."""
    cost_per_session: float = Field(450.0, ge=0)
    """Cost of one pop-up session in pounds: 3 hours at the enhanced-access rate of about £143/hour (£429), plus
    about £21 for the room or vehicle (assumption, no BNSSG figure found)."""
    capacity_per_session: float = Field(12.0, gt=0)
    """Contacts one pop-up session can give."""
    slots: tuple[Slot, ...] = EVENING_SLOTS
    """Slots in which pop-ups may run (only evening and Saturday slots are meaningful)."""
    max_sessions_per_slot: int = Field(2, ge=0)
    """Sessions a week one site may run in one slot."""

    @field_validator("slots")
    @classmethod
    def _evening_only(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in v if s not in EVENING_SLOTS]
        if bad:
            raise ValueError(f"pop-ups run only in {list(EVENING_SLOTS)}; got {bad}")
        return v


class MdtService(_Frozen):
    """Specialist multidisciplinary-team (MDT) review sessions hosted at hubs."""

    enabled: bool = True
    """Plan MDT sessions at all."""
    capacity_per_session: float = Field(8.0, gt=0)
    """People reviewed in one session (cancer MDTs discuss about 26 in 3.2 minutes each, BMJ 2017;356:j114;
    a community multimorbidity review takes longer, so far fewer: assumption)."""
    cost_per_session: float = Field(1_200.0, ge=0)
    """Cost of one session in pounds: three specialists for two hours plus coordination (assumption; the
    cancer-MDT figure of about £415 per patient discussed, BMJ 2017, is for larger teams)."""
    workforce: dict[str, int] = Field(default_factory=lambda: {"diabetes": 4, "cardiovascular": 3, "chronic_pain": 3})
    """Sessions a week each specialty's workforce can staff across BNSSG (assumption)."""
    max_sessions_per_hub: int = Field(3, ge=0)
    """Sessions a week of one specialty one hub can host."""

    @field_validator("workforce")
    @classmethod
    def _known_specialties(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(SPECIALTIES))
        if unknown:
            raise ValueError(f"unknown specialty {unknown[0]!r}; expected one of {list(SPECIALTIES)}")
        negative = [(k, n) for k, n in v.items() if n < 0]
        if negative:
            raise ValueError(f"workforce sessions for {negative[0][0]!r} must be >= 0, got {negative[0][1]}")
        return {k: int(v.get(k, 0)) for k in SPECIALTIES}


class TravelSettings(_Frozen):
    """How people travel and how far is acceptable."""

    mode: Mode = "pt"
    """Mode whose times are used: ``pt`` (public transport, the default: most of the cohort lives in deprived
    areas with low car ownership), ``car`` or ``walk``."""
    max_minutes: float = Field(45.0, gt=0)
    """Maximum travel time: demand is only allocated to sites within this many minutes."""
    nearest_hubs: int = Field(20, ge=1)
    """Arc reduction: each zone may use only its this-many nearest hub candidates within ``max_minutes`` (plus
    every fixed-open site in reach). Keep it well above the number of hubs a locality will open, so that a zone
    is never cut off from an open hub it could reach."""
    nearest_popups: int = Field(10, ge=1)
    """Each zone may use its nearest pop-up venue in each of its this-many nearest places within ``max_minutes``
    (see ``popup_place_metres``). More is slower and rarely better (see docs/model.md)."""
    popup_place_metres: float = Field(800.0, ge=0)
    """Pop-up venues closer together than this are one place to a zone, which uses only the nearer: its arcs then
    reach the next villages rather than the rest of its own, where a session finds the demand to fill it
    (Woodspring's plan: 8% better than with the six nearest venues; see docs/model.md). 0 gives each zone its
    ``nearest_popups`` nearest venues."""
    evening_factor: float = Field(1.0, gt=0)
    """Multiply evening travel times by this factor (e.g. 1.2 if evening buses are thinner than the dataset assumes)."""
    thresholds: tuple[Annotated[float, Field(gt=0)], ...] = (15.0, 20.0, 30.0)
    """Minutes for the 'share within X minutes' indicators (20 and 30 minutes are always reported as well)."""


class Weights(_Frozen):
    """Objective weights, in 'minutes of travel per contact' units."""

    travel: float = Field(1.0, ge=0)
    """Weight of each contact-minute of travel."""
    unmet: float = Field(120.0, ge=0)
    """Penalty for a daytime contact that is not served (equivalent minutes)."""
    evening_gap: float = Field(240.0, ge=0)
    """Penalty for a contact of someone who can only come in the evening or at weekends and is not served."""
    mdt_unmet: float = Field(1000.0, ge=0)
    """Penalty for a specialist MDT review that is not given."""
    equity: float = Field(0.0, ge=0)
    """Equity weighting: zone weights are ``1 + equity x d`` with d from 1 (IMD decile 1) to 0 (decile 10)."""
    cost: float = Field(0.0, ge=0)
    """Weight of each £1,000 of annual cost in the objective (0: cost only enters as the budget)."""


class Budget(_Frozen):
    """Money available for the plan each year."""

    annual: float | None = Field(3_000_000.0, ge=0)
    """Annual budget in pounds for hubs, evening opening, pop-ups and MDT sessions (``None``: no limit)."""


class Sites(_Frozen):
    """Which candidate sites the plan may use."""

    fixed_open: tuple[str, ...] = ()
    """Site ids that must open as hubs (e.g. existing centres). Any site that can be a hub (``can_hub``), also of a
    kind ``hub_kinds`` leaves out (a library, say); a school or pharmacy only if added with ``can_hub`` true."""
    closed: tuple[str, ...] = ()
    """Site ids that may not be used at all (e.g. 'the Hartcliffe site is not available')."""
    hub_kinds: tuple[SiteKind, ...] | None = None
    """Restrict the dataset's hubs to these site kinds (``None``: the dataset's defaults). Sites added from
    ``extra_file`` or an upload are used as their file says."""
    popup_kinds: tuple[SiteKind, ...] | None = None
    """Restrict the dataset's pop-up venues to these site kinds (``None``: the dataset's defaults); added sites as
    for ``hub_kinds``."""
    extra_file: str | None = None
    """A CSV or GeoJSON of extra candidate sites (relative to the scenario file)."""


class Requirements(_Frozen):
    """Hard requirements; breaking one makes the scenario infeasible."""

    full_coverage: bool = False
    """Every contact must be served within ``travel.max_minutes`` (a hard maximum-travel standard)."""
    full_evening_coverage: bool = False
    """Every evening-only contact must be served (a hard 'no evening gap' standard)."""


class SolverOptions(_Frozen):
    """HiGHS settings."""

    time_limit: float = Field(60.0, gt=0)
    """Seconds before the solve stops and returns its best plan with its gap."""
    mip_rel_gap: float = Field(0.01, ge=0, le=1)
    """Relative gap at which the plan counts as solved."""
    threads: int | None = Field(None, ge=1)
    """Solver threads (``None``: HiGHS chooses)."""
    warm_start: bool = True
    """Use the LP-scored hub search (:mod:`planner.heuristic`) for plans with more zones than a locality
    partnership: alongside HiGHS in a second process, or first, as HiGHS's MIP start."""
    parallel_search: bool = True
    """Run the hub search in a second process alongside HiGHS when the machine has two cores or more."""
    warm_start_share: float = Field(0.5, gt=0, lt=1)
    """Share of the time limit given to the hub search when it runs first (one core, or ``parallel_search``
    off)."""
    split_counts: bool = True
    """For plans the size of a locality partnership whose budget limits the hub count: decide how many hubs,
    evening openings and MDT sessions first, one MIP per count the budget allows and the LP bounds do not rule
    out (:mod:`planner.counts`)."""


class Scenario(_Frozen):
    """A planning scenario: the question, the assumptions and the levers."""

    name: str = "scenario"
    """Short name, used for run folders and comparisons."""
    question: str = ""
    """The question this scenario answers, in plain words."""
    localities: tuple[str, ...] | None = Field(None, min_length=1)
    """Plan only these locality partnerships (``None``: all of BNSSG)."""
    demand: DemandSettings = DemandSettings()
    hubs: HubService = HubService()
    popups: PopupService = PopupService()
    mdt: MdtService = MdtService()
    travel: TravelSettings = TravelSettings()
    weights: Weights = Weights()
    budget: Budget = Budget()
    sites: Sites = Sites()
    requirements: Requirements = Requirements()
    solver: SolverOptions = SolverOptions()
    _source: str | None = PrivateAttr(default=None)  # the file it was loaded from, for error messages

    @property
    def source(self) -> str | None:
        """The scenario file this scenario was loaded from (kept through :meth:`with_changes`), if any."""
        return self._source

    def located(self) -> str:
        """How an error in the inputs names this scenario: its file, if it has one, and its name."""
        return f"{self._source}: scenario {self.name!r}" if self._source else f"scenario {self.name!r}"

    def __eq__(self, other: object) -> bool:
        # The same plan question, wherever it was read from (pydantic would also compare the private source).
        return isinstance(other, Scenario) and self.__dict__ == other.__dict__

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        both = sorted(set(self.sites.fixed_open) & set(self.sites.closed))
        if both:
            raise ValueError(f"site {both[0]!r} is both fixed open and closed")
        if (
            self.hubs.exact_hubs is not None
            and self.hubs.max_hubs is not None
            and (self.hubs.exact_hubs > self.hubs.max_hubs)
        ):
            raise ValueError(f"exact_hubs {self.hubs.exact_hubs} exceeds max_hubs {self.hubs.max_hubs}")
        return self

    def to_yaml(self) -> str:
        """The fully resolved scenario as YAML (every default made explicit), as written to a run folder."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    def with_changes(self, changes: Mapping[str, Any], *, source: str = "<changes>") -> Scenario:
        """Return a copy with nested changes applied and validated (e.g. ``{"budget": {"annual": 1e6}}``).

        Parameters
        ----------
        changes
            A nested mapping of the same shape as the YAML.
        source
            Where the changes come from (e.g. a command-line option), to quote in error messages.

        Returns
        -------
        Scenario
            The new, validated scenario.
        """
        data = deep_merge(self.model_dump(mode="python"), changes)
        changed = validate_scenario(data, source=source)
        changed._source = self._source
        return changed


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into a copy of ``base``, recursing into nested mappings.

    Parameters
    ----------
    base
        The mapping to start from (not modified).
    update
        Values that replace or extend ``base``; lists and scalars replace, mappings merge.

    Returns
    -------
    dict
        The merged mapping.
    """
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_override(data: Mapping[str, Any], change: Mapping[str, Any], *, name: str, source: str) -> dict[str, Any]:
    """Apply the named override ``change`` to a copy of the scenario data ``data``, as :func:`deep_merge` does,
    except that a value written ``{times: x}`` multiplies the number it replaces.

    So ``budget_cut_20: {budget: {annual: {times: 0.8}}}`` cuts each scenario's own budget by a fifth, where a
    fixed ``annual: 2400000`` gave a locality's £900,000 scenario £2.4m.

    Raises
    ------
    ScenarioError
        If ``x`` is not a number of at least 0, or the value it would scale is not a number (no budget, or a field
        the scenario and its bases leave unset).
    """

    def scaled(update: Mapping[str, Any], current: Any, where: str) -> dict[str, Any]:
        """``update`` with each ``{times: x}`` replaced by the number it scales in ``current``."""
        out: dict[str, Any] = {}
        for key, value in update.items():
            field = f"{where}{key}"
            here = current.get(key) if isinstance(current, Mapping) else None
            if isinstance(value, Mapping) and set(value) == {"times"}:
                factor = value["times"]
                if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 0:
                    raise ScenarioError(
                        f"{source}: override {name!r}, field '{field}' (value {{times: {factor!r}}}): "
                        "the factor must be a number of at least 0"
                    )
                if isinstance(here, bool) or not isinstance(here, int | float):
                    raise ScenarioError(
                        f"{source}: override {name!r}, field '{field}' (value {{times: {factor!r}}}) scales a number, "
                        f"but the scenario's value is {'null' if here is None else repr(here)}"
                    )
                out[key] = here * factor
            elif isinstance(value, Mapping):
                out[key] = scaled(value, here, f"{field}.")  # also where unset, so that a {times: x} there is caught
            else:
                out[key] = value
        return out

    return deep_merge(data, scaled(change, data, ""))


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key {loc!r}")
        else:
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" (value {value!r})"
            message = err["msg"].removeprefix("Value error, ")
            if not err["loc"]:  # a rule across fields (e.g. a site both fixed open and closed): no one field to name
                lines.append(f"{source}: {message}")
            else:
                lines.append(f"{source}: field {loc!r}{shown}: {message}")
    return "; ".join(lines)


def validate_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a plain mapping as a :class:`Scenario`.

    Parameters
    ----------
    data
        The scenario's keys and values (no ``extends``/``apply``/``overrides`` left).
    source
        The file name to quote in error messages.

    Returns
    -------
    Scenario
        The frozen, validated scenario.

    Raises
    ------
    ScenarioError
        Naming the file, the key and the value of every problem.
    """
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(_format_validation_error(exc, source)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the plain loader keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of keys, got {type(data).__name__}")
    return data


def _anchor_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` with a relative ``sites.extra_file`` made absolute from ``folder``, the folder of the file that
    names it: a base scenario's sites file stays beside the base, whichever file extends it."""
    sites = data.get("sites")
    extra = sites.get("extra_file") if isinstance(sites, dict) else None
    if isinstance(sites, dict) and isinstance(extra, str) and extra and not Path(extra).is_absolute():
        return {**data, "sites": {**sites, "extra_file": str((folder / extra).resolve())}}
    return data


def _resolve(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return the merged raw data of ``path`` and its bases, and every named override they define."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(f"{path}: 'extends' makes a cycle ({chain})")
    raw = _anchor_paths(_read_yaml(path), path.parent)
    overrides: dict[str, dict[str, Any]] = {}
    merged: dict[str, Any] = {}
    base_ref = raw.pop("extends", None)
    if base_ref is not None:
        if not isinstance(base_ref, str):
            raise ScenarioError(f"{path}: field 'extends' (value {base_ref!r}) must be a file path")
        base_data, base_overrides = _resolve(path.parent / base_ref, (*seen, path))
        merged = base_data
        overrides.update(base_overrides)
    own_overrides = raw.pop("overrides", None) or {}
    if not isinstance(own_overrides, dict) or not all(isinstance(v, dict) for v in own_overrides.values()):
        raise ScenarioError(f"{path}: field 'overrides' must map names to mappings of changes")
    own_overrides = {name: _anchor_paths(change, path.parent) for name, change in own_overrides.items()}
    overrides.update(own_overrides)
    apply = raw.pop("apply", None) or []
    merged.pop("apply", None)
    # a file that extends a base is its own scenario: without a name of its own it takes its file's name
    merged.pop("name", None)
    merged = deep_merge(merged, raw)
    if isinstance(apply, str):
        apply = [apply]
    if not isinstance(apply, list) or not all(isinstance(name, str) for name in apply):
        raise ScenarioError(f"{path}: field 'apply' (value {apply!r}) must be a list of override names")
    for name in apply:
        if name not in overrides:
            known = ", ".join(sorted(overrides)) or "none defined"
            raise ScenarioError(f"{path}: field 'apply' (value {name!r}): no such override ({known})")
        merged = apply_override(merged, overrides[name], name=name, source=str(path))
    return merged, overrides


LIBRARY_DIR = Path(__file__).resolve().parent.parent / "scenarios"
"""The scenario library (``scenarios/`` beside the package)."""


def scenario_library(folder: Path = LIBRARY_DIR) -> dict[str, Path]:
    """The scenario files of the library, by name (file stem), sorted with ``default`` first."""
    files = sorted(Path(folder).glob("*.yaml"))
    return dict(sorted(((p.stem, p) for p in files), key=lambda kv: (kv[0] != "default", kv[0])))


def scenario_path(text: str | Path) -> Path:
    """A scenario file from a path, or from the name of a library scenario (``default`` -> scenarios/default.yaml).

    A path that exists, or that ends in ``.yaml``/``.yml``, is taken as it is; so is a name the library does not
    have (loading it then says the file is not found).
    """
    path = Path(text)
    if path.exists() or path.suffix in {".yaml", ".yml"}:
        return path
    return scenario_library().get(str(path), path)


def load_scenario(path: str | Path, *, apply: Sequence[str] = ()) -> Scenario:
    """Load, compose and validate a scenario file.

    Parameters
    ----------
    path
        The YAML file, or the name of a library scenario (see :func:`scenario_path`).
    apply
        Extra named overrides to apply after the file's own ``apply:`` list.

    Returns
    -------
    Scenario
        The frozen, validated scenario. Relative ``sites.extra_file`` paths are made absolute.

    Raises
    ------
    ScenarioError
        If the file is missing, is not YAML, has an unknown key or a bad value, or names an unknown override.
    """
    path = scenario_path(path)
    if not path.exists() and not path.suffix:
        names = ", ".join(sorted(scenario_library()))
        raise ScenarioError(f"{path}: scenario file not found, nor a library scenario of that name ({names})")
    data, overrides = _resolve(path, ())
    for name in apply:
        if name not in overrides:
            raise ScenarioError(f"{path}: no override named {name!r} ({', '.join(sorted(overrides)) or 'none'})")
        data = apply_override(data, overrides[name], name=name, source=str(path))
    data.setdefault("name", path.stem)
    scenario = validate_scenario(data, source=str(path))
    scenario._source = str(path)
    return scenario


def scenario_overrides(path: str | Path) -> list[str]:
    """Names of the overrides a scenario file (and its bases) define."""
    return sorted(_resolve(Path(path), ())[1])
