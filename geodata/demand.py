"""The demand model: who needs care, where, and who can only come in the evening or at weekends.

Every constant is a field of :class:`DemandParameters` with its source; a scenario can change any of them.
Totals reconcile exactly: the cohorts are apportioned to zones, never estimated zone by zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from geodata.errors import DataValidationError

SPECIALTIES = ("diabetes", "cardiovascular", "chronic_pain")

DEMAND_COLUMNS = [
    "complex_people", "at_risk_people", "evening_only_share", "contacts_per_week", "contacts_day",
    "contacts_evening_only", "mdt_per_week_diabetes", "mdt_per_week_cardiovascular", "mdt_per_week_chronic_pain",
]  # fmt: skip


class DemandParameters(BaseModel):
    """Constants of the demand model, each with its source (see ../shared/FACTS.md and geodata/README.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

    complex_cohort_2024: float = Field(5300.0, gt=0)
    """People aged 20-64 in BNSSG with 3+ of hypertension, diabetes, anxiety, depression, chronic pain in 2024
    (HT2040 strategic intentions, Aug 2025)."""
    growth_by_2040: float = Field(0.5, ge=-1)
    """Growth of the complex cohort by 2040 (+50% in 15 years, HT2040)."""
    at_risk_cohort_2024: float = Field(38000.0, ge=0)
    """People in wider at-risk groups (two or more conditions, or BMI over 30 with one; HT2040)."""
    at_risk_growth_by_2040: float = Field(0.25, ge=-1)
    """Growth of the at-risk cohort by 2040 (assumption: half the complex cohort's rate, as the wider group grows
    with population and ageing rather than with progression; no published figure)."""
    deprivation_ratio: float = Field(1.9, ge=1)
    """Relative prevalence of multimorbidity in the most vs least deprived IMD decile (11.0% vs 5.9%, Barnett et al.,
    Lancet 2012); applied linearly across deciles."""
    at_risk_deprivation_ratio: float = Field(1.5, ge=1)
    """The same ratio for the at-risk cohort (assumption: a milder gradient; multiple conditions 34% vs 18% by
    deprivation in the Scottish Health Survey 2015 gives about 1.9 for all adults)."""
    health_weight: float = Field(0.5, ge=0)
    """Exponent on a zone's Census bad-health and disability share relative to the BNSSG mean (TS037/TS038): local
    ill-health beyond what deprivation predicts (assumption: square-root damping)."""
    growth_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "South Bristol": 1.5,
            "Weston, Worle and Villages": 1.5,
            "South Gloucestershire": 1.3,
        }
    )
    """Relative weight of each locality in the 2024-2040 growth (1.0 where not listed): 95,000 new homes,
    particularly South Bristol and Weston, plus South Gloucestershire growth (HT2040; weights are assumptions)."""
    employment_rate: float = Field(0.62, ge=0, le=1)
    """Share of the cohorts (aged 20-64, with long-term conditions) in work at an average BNSSG zone (assumption,
    below the ~78% for all 20-64s); scaled in each zone by its IMD 2025 employment-deprivation score."""
    workers_evening_only: float = Field(0.5, ge=0, le=1)
    """Share of working people in the cohorts who can only attend in the evening or at weekends (assumption)."""
    carer_factor: float = Field(1.6, ge=0)
    """Unpaid carers among people with long-term conditions relative to the zone's Census carer share (TS039);
    carers are more likely to be ill themselves (assumption)."""
    carers_evening_only: float = Field(0.5, ge=0, le=1)
    """Share of carers (not already counted as workers) who can only come out of hours (assumption; 38% of working
    carers work part-time, Census 2021 via Carers UK)."""
    max_evening_only_share: float = Field(0.8, ge=0, le=1)
    """Cap on a zone's evening-only share."""
    contacts_per_year_complex: float = Field(8.0, ge=0)
    """Planned contacts a year per person in the complex cohort (reviews, care planning, group sessions; assumption)."""
    contacts_per_year_at_risk: float = Field(2.0, ge=0)
    """Planned contacts a year per person at risk (a check and one follow-up; assumption)."""
    weeks_per_year: float = Field(48.0, gt=0)
    """Weeks a year that services run."""
    mdt_share: dict[str, float] = Field(
        default_factory=lambda: {"diabetes": 0.10, "cardiovascular": 0.08, "chronic_pain": 0.08}
    )
    """Yearly share of the complex cohort needing a specialist MDT review, by specialty (assumption; no community
    multimorbidity MDT figure was found)."""

    @field_validator("mdt_share")
    @classmethod
    def _specialties(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(SPECIALTIES))
        if unknown:
            raise ValueError(f"unknown specialty {unknown[0]!r}; expected {list(SPECIALTIES)}")
        if any(not 0 <= x <= 1 for x in v.values()):
            raise ValueError("MDT shares must lie between 0 and 1")
        return {k: float(v.get(k, 0.0)) for k in SPECIALTIES}


def _apportion(total: float, weights: pd.Series) -> pd.Series:
    """Split ``total`` across zones in proportion to ``weights`` (exactly: the parts add up to ``total``)."""
    w = weights.clip(lower=0.0)
    s = float(w.sum())
    if s <= 0:
        return pd.Series(total / len(w), index=w.index)
    return total * w / s


def prevalence_factor(zones: pd.DataFrame, ratio: float, health_weight: float) -> pd.Series:
    """Relative prevalence per zone: deprivation gradient (IMD decile) times local ill-health (Census)."""
    dep = 1.0 + (ratio - 1.0) * (10 - zones["imd_decile"].astype(float)) / 9.0
    ill = (zones["bad_health_share"] + zones["disability_share"]).astype(float)
    rel = ill / max(float((ill * zones["pop_20_64"]).sum() / zones["pop_20_64"].sum()), 1e-9)
    return dep * np.power(rel.clip(lower=1e-6), health_weight)


def evening_only_share(zones: pd.DataFrame, params: DemandParameters) -> pd.Series:
    """Share of each zone's demand that can only attend in the evening or at weekends.

    Workers: the employment rate, scaled by the zone's IMD 2025 employment score relative to BNSSG (more
    employment deprivation, fewer in work), times the share of workers who can only come out of hours. Carers:
    the zone's Census carer share times ``carer_factor``, for those not already counted as working.
    """
    emp_score = zones["imd_employment_score"].astype(float)
    mean_score = float(np.average(emp_score, weights=zones["pop_20_64"]))
    employed = params.employment_rate * (1.0 - emp_score) / max(1.0 - mean_score, 1e-9)
    employed = employed.clip(0.0, 1.0)
    workers = employed * params.workers_evening_only
    carers = (zones["carers_share"].astype(float) * params.carer_factor).clip(0.0, 1.0)
    carers_only = carers * (1.0 - employed) * params.carers_evening_only
    return (workers + carers_only).clip(0.0, params.max_evening_only_share)


def compute_demand(zones: pd.DataFrame, params: DemandParameters, year: int) -> pd.DataFrame:
    """Demand per zone for a planning year.

    Parameters
    ----------
    zones
        Zone table (``pop_20_64``, ``imd_decile``, ``imd_employment_score``, ``carers_share``,
        ``bad_health_share``, ``disability_share``, ``locality``).
    params
        Demand-model constants.
    year
        2024 to 2040; growth is interpolated linearly between them.

    Returns
    -------
    pandas.DataFrame
        Index ``zone_code`` and the columns of :data:`DEMAND_COLUMNS`. ``complex_people`` sums exactly to the
        cohort for the year, as does ``at_risk_people``; ``contacts_day + contacts_evening_only ==
        contacts_per_week``; ``mdt_per_week_<specialty>`` are reviews a week.

    Raises
    ------
    DataValidationError
        If the year is outside 2024-2040 or a needed column is missing.
    """
    if not 2024 <= int(year) <= 2040:
        raise DataValidationError(f"demand year {year!r} is outside 2024-2040")
    needed = ("pop_20_64", "imd_decile", "imd_employment_score", "carers_share", "bad_health_share", "disability_share",
              "locality")  # fmt: skip
    missing = [c for c in needed if c not in zones.columns]
    if missing:
        raise DataValidationError(f"zones table: missing column {missing[0]!r} needed by the demand model")
    frac = (int(year) - 2024) / 16.0
    pop = zones["pop_20_64"].astype(float)
    f_complex = pop * prevalence_factor(zones, params.deprivation_ratio, params.health_weight)
    f_risk = pop * prevalence_factor(zones, params.at_risk_deprivation_ratio, params.health_weight)
    growth_w = zones["locality"].map(lambda loc: params.growth_weights.get(loc, 1.0)).astype(float)
    complex_people = _apportion(params.complex_cohort_2024, f_complex) + _apportion(
        params.complex_cohort_2024 * params.growth_by_2040 * frac, f_complex * growth_w
    )
    at_risk = _apportion(params.at_risk_cohort_2024, f_risk) + _apportion(
        params.at_risk_cohort_2024 * params.at_risk_growth_by_2040 * frac, f_risk * growth_w
    )
    share = evening_only_share(zones, params)
    contacts = (
        complex_people * params.contacts_per_year_complex + at_risk * params.contacts_per_year_at_risk
    ) / params.weeks_per_year
    out = pd.DataFrame(index=zones.index)
    out.index.name = "zone_code"
    out["complex_people"] = complex_people
    out["at_risk_people"] = at_risk
    out["evening_only_share"] = share
    out["contacts_per_week"] = contacts
    out["contacts_evening_only"] = contacts * share
    out["contacts_day"] = contacts - out["contacts_evening_only"]
    for spec in SPECIALTIES:
        out[f"mdt_per_week_{spec}"] = complex_people * params.mdt_share.get(spec, 0.0) / params.weeks_per_year
    return out[DEMAND_COLUMNS]
