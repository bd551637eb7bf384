"""The scorer's decision quality pieces on small data: threshold rules, calibration, reasons, tuning."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss
from xgboost import XGBClassifier

from nivesh_common.errors import BadInputError, PassingConditionError
from nivesh_credit_risk.calibration import Calibration, CalibrationMethod, fit_calibration
from nivesh_credit_risk.operating_point import ThresholdRule, choose_threshold
from nivesh_credit_risk.reasons import contributions, global_importance, top_reasons
from nivesh_credit_risk.tuning import Hyperparameters, TuningBudget, search

# Ten applicants ranked by probability; 1 = defaulted.
PROBABILITIES = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
DEFAULTED = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])


def _expected_cost(threshold: float, cost_ratio: float) -> float:
    refused = threshold <= PROBABILITIES
    return cost_ratio * np.sum(~refused & (DEFAULTED == 1)) + np.sum(refused & (DEFAULTED == 0))


@pytest.mark.parametrize(("cost_ratio", "expected"), [(1.5, 0.7), (5.0, 0.4), (0.2, 0.9)])
def test_the_cost_rule_takes_the_cheapest_threshold(cost_ratio, expected):
    point = choose_threshold(PROBABILITIES, DEFAULTED, ThresholdRule.cost, cost_ratio, min_recall=0.65)
    assert point.threshold == expected
    assert _expected_cost(point.threshold, cost_ratio) == min(_expected_cost(t, cost_ratio) for t in PROBABILITIES)


def test_the_recall_rule_takes_the_best_precision_that_reaches_the_recall():
    point = choose_threshold(PROBABILITIES, DEFAULTED, ThresholdRule.recall, cost_ratio=5.0, min_recall=0.75)
    # recall 3/4 is first reached at 0.7 (precision 3/4); 0.4 reaches 4/4 at a lower precision
    assert (point.threshold, point.validation_recall, point.validation_precision) == (0.7, 0.75, 0.75)


def test_ties_are_one_threshold_and_an_unreachable_recall_is_refused():
    tied = choose_threshold(np.array([0.5, 0.5, 0.2]), np.array([1, 0, 0]), ThresholdRule.cost, 5.0, 0.5)
    assert tied.threshold == 0.5 and tied.validation_precision == 0.5  # both 0.5s refused together
    with pytest.raises(BadInputError, match=r"no threshold reaches recall 1\.1"):
        choose_threshold(PROBABILITIES, DEFAULTED, ThresholdRule.recall, 5.0, min_recall=1.1)


@pytest.fixture(scope="module")
def miscalibrated():
    """Scores that rank well but claim far more risk than there is (as class weighting makes them)."""
    rng = np.random.default_rng(0)
    truth = rng.beta(1, 4, 6000)
    labels = (rng.random(6000) < truth).astype(int)
    scores = np.sqrt(truth)
    return scores[:3000], labels[:3000], scores[3000:], labels[3000:]


@pytest.mark.parametrize("method", [CalibrationMethod.sigmoid, CalibrationMethod.isotonic])
def test_calibration_improves_the_brier_score_of_a_miscalibrated_model(miscalibrated, method):
    fit_scores, fit_labels, held_scores, held_labels = miscalibrated
    calibration = fit_calibration(fit_scores, fit_labels, method)
    before = brier_score_loss(held_labels, held_scores)
    after = brier_score_loss(held_labels, calibration.apply(held_scores))
    assert after < before - 0.02
    stored = Calibration.from_dict(calibration.to_dict())  # what the served model reads back
    assert stored.apply(held_scores) == pytest.approx(calibration.apply(held_scores))
    assert np.all(np.diff(calibration.apply(np.linspace(0, 1, 50))) >= 0), "calibration keeps the ranking"


def test_no_calibration_keeps_the_scores(miscalibrated):
    scores, labels, *_ = miscalibrated
    assert fit_calibration(scores, labels, CalibrationMethod.none).apply(scores) == pytest.approx(scores)


@pytest.fixture(scope="module")
def applications():
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "debt_to_income": rng.uniform(0, 1.5, 600),
            "credit_history_years": rng.uniform(0, 20, 600),
            "home_ownership": pd.Categorical(rng.choice(["own", "rent", "family"], 600)),
        }
    )
    risk = 3 * table["debt_to_income"] - 0.15 * table["credit_history_years"] + (table["home_ownership"] == "rent")
    labels = (rng.random(600) < 1 / (1 + np.exp(-(risk - 1)))).astype(int)
    classifier = XGBClassifier(n_estimators=60, max_depth=3, enable_categorical=True, early_stopping_rounds=10)
    classifier.fit(table, labels, eval_set=[(table, labels)], verbose=False)
    return classifier, table


def test_contributions_sum_with_the_base_value_to_the_margin(applications):
    classifier, table = applications
    contributed = contributions(classifier, table)
    margin = classifier.predict(table, output_margin=True)
    assert contributed.sum(axis=1).to_numpy() == pytest.approx(margin, abs=1e-4)
    probability = classifier.predict_proba(table)[:, 1]
    assert 1 / (1 + np.exp(-contributed.sum(axis=1).to_numpy())) == pytest.approx(probability, abs=1e-5)


def test_reasons_are_the_features_that_raised_the_risk_most(applications):
    classifier, table = applications
    contributed = contributions(classifier, table)
    reasons = top_reasons(contributed)
    for row, named in zip(contributed.drop(columns="base_value").itertuples(index=False), reasons, strict=True):
        raising = sorted(((value, name) for name, value in row._asdict().items() if value > 0), reverse=True)
        assert named == [name for _, name in raising[:3]]
    assert global_importance(contributed).idxmax() == "debt_to_income"


def test_tuning_is_reproducible_starts_from_the_defaults_and_finds_better():
    def validation_auc(hyperparameters: Hyperparameters) -> float:  # best at depth 6, learning rate 0.05
        return 1 - abs(hyperparameters.max_depth - 6) / 10 - abs(np.log(hyperparameters.learning_rate / 0.05)) / 10

    budget = TuningBudget(trials=12, seconds=60)
    reported = []
    first = search(validation_auc, Hyperparameters(), budget, seed=3, after_trial=lambda *ended: reported.append(ended))
    again = search(validation_auc, Hyperparameters(), budget, seed=3, after_trial=lambda *_: None)
    pd.testing.assert_frame_equal(first.history.drop(columns="seconds"), again.history.drop(columns="seconds"))
    assert reported == list(first.history[["trial", "validation_roc_auc"]].itertuples(index=False, name=None))
    assert len(first.history) == 12 and first.best == again.best
    assert first.history.loc[0, "max_depth"] == 5 and first.history.loc[0, "learning_rate"] == 0.08
    assert first.best_validation_auc >= first.history.loc[0, "validation_roc_auc"]


def test_tuning_cut_by_its_seconds_fails_at_the_cap():
    def slow(hyperparameters: Hyperparameters) -> float:
        time.sleep(0.3)
        return 0.5

    started = time.monotonic()
    with pytest.raises(PassingConditionError, match=r"safety cap after [2-5] of 100 trials"):
        search(slow, Hyperparameters(), TuningBudget(trials=100, seconds=1.0), seed=0, after_trial=lambda *_: None)
    assert time.monotonic() - started < 3


def test_an_error_after_a_trial_stops_the_search_there():
    """What the train step passes as after_trial logs to MLflow: a lost server ends the search at that trial."""

    def lost_server(number: int, auc: float) -> None:
        if number == 2:
            raise ConnectionError("MLflow tracking server stopped answering")

    tried = []
    with pytest.raises(ConnectionError):
        search(lambda hyperparameters: tried.append(1) or 0.5, Hyperparameters(), TuningBudget(100, 60), 0, lost_server)
    assert len(tried) == 3
