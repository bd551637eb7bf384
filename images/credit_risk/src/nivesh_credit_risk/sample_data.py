"""Synthetic credit applications whose default label depends on the features the way real defaults do:
high debt-to-income, utilisation and past delinquencies raise risk; long credit history, stable
employment and home ownership lower it."""

import numpy as np
import pandas as pd

EMPLOYMENT = {"salaried": 0.0, "self_employed": 0.35, "business_owner": 0.2, "contract": 0.5, "unemployed": 1.4}
HOME = {"own": -0.3, "mortgage": -0.1, "rent": 0.2, "family": 0.05}
PURPOSE = {
    "home_improvement": -0.1,
    "education": 0.0,
    "medical": 0.25,
    "vehicle": -0.2,
    "debt_consolidation": 0.35,
    "personal": 0.2,
    "business": 0.3,
    "wedding": 0.15,
}
TERMS = np.array([12, 24, 36, 48, 60])
ANNUAL_RATE = 0.14


def _choice(rng: np.random.Generator, options: dict, size: int, weights: list[float]) -> np.ndarray:
    return rng.choice(list(options), size=size, p=np.array(weights) / sum(weights))


def credit_applications(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(21, 71, rows)
    employment = _choice(rng, EMPLOYMENT, rows, [55, 15, 10, 12, 8])
    employment_years = np.where(employment == "unemployed", 0.0, np.minimum(rng.gamma(2.0, 3.5, rows), age - 20)).round(
        1
    )
    income = rng.lognormal(np.log(650_000), 0.55, rows) * np.where(employment == "unemployed", 0.25, 1.0)
    home = _choice(rng, HOME, rows, [25, 25, 40, 10])
    purpose = _choice(rng, PURPOSE, rows, [12, 10, 8, 15, 20, 20, 10, 5])
    loan_amount = (income * rng.uniform(0.1, 1.6, rows)).round(-3)
    term = rng.choice(TERMS, rows)
    monthly_rate = ANNUAL_RATE / 12
    emi = loan_amount * monthly_rate / (1 - (1 + monthly_rate) ** -term)
    existing_debt = (income / 12 * rng.beta(2, 6, rows)).round(0)
    # Credit history grows with age but varies a lot within an age group.
    credit_history = np.minimum(rng.gamma(2.5, 3.0, rows), age - 18).round(1)
    credit_lines = rng.poisson(3 + credit_history / 4)
    utilization = np.clip(rng.beta(2, 3, rows) * 1.2, 0, 1.2).round(3)
    delinquencies = rng.poisson(0.25 + 0.6 * utilization)
    debt_to_income = ((existing_debt + emi) / (income / 12)).round(4)
    loan_to_income = (loan_amount / income).round(4)

    logit = (
        -1.3
        + 4.5 * (debt_to_income - 0.45)
        + 2.5 * (utilization - 0.5)
        + 0.9 * delinquencies
        - 0.05 * credit_history
        - 0.03 * employment_years
        + 0.8 * (loan_to_income - 0.8)
        + np.vectorize(EMPLOYMENT.get)(employment)
        + np.vectorize(HOME.get)(home)
        + np.vectorize(PURPOSE.get)(purpose)
    )
    default = rng.random(rows) < 1 / (1 + np.exp(-1.6 * logit))

    return pd.DataFrame(
        {
            "applicant_id": [f"APP-{seed:04d}-{i:07d}" for i in range(rows)],
            "age": age,
            "annual_income": income.round(0),
            "employment_type": employment,
            "employment_length_years": employment_years,
            "home_ownership": home,
            "loan_purpose": purpose,
            "loan_amount": loan_amount,
            "loan_term_months": term,
            "existing_monthly_debt": existing_debt,
            "credit_history_years": credit_history,
            "num_credit_lines": credit_lines,
            "num_delinquencies_2y": delinquencies,
            "credit_utilization": utilization,
            "debt_to_income": debt_to_income,
            "loan_to_income": loan_to_income,
            "default": default.astype(int),
        }
    )
