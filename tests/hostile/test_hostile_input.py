"""Hostile and careless input, a case per kind of defect: each gets the contract's exit code, one error line and
no traceback, and leaves MLflow exactly as it found it (runs, their status, versions, aliases)."""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry_state import aliases, client_for, store_state
from steps import StepRun, run_step, step_environment

CREDIT, ANOMALY, INTENT, SPENDING, NER, DRIFT = (
    "nivesh-credit-risk",
    "nivesh-anomaly",
    "nivesh-intent",
    "nivesh-spending",
    "nivesh-ner",
    "nivesh-drift",
)


def assert_refused(run: StepRun, exit_code: int, message: str) -> None:
    assert run.exit_code == exit_code, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    (line,) = run.error_lines
    assert message in line, line
    if run.result is not None:  # a usage error stops before the step, so it has no result
        assert message in run.result["error"]


@pytest.fixture(scope="module")
def store(tmp_path_factory, trained_registry):
    """A copy of the session's registry: credit_risk_scorer, financial_ner and anomaly_detector in production,
    trained on the sample data."""
    models = ("credit_risk_scorer", "financial_ner", "anomaly_detector")
    return trained_registry.copy(tmp_path_factory.mktemp("hostile-store"), *models)


@pytest.fixture(scope="module")
def credit_run_id(store) -> str:
    return client_for(store).get_model_version_by_alias("credit_risk_scorer", "production").run_id


@pytest.fixture
def unchanged(store):
    """Asserts, after the test, that the store is as the test found it."""
    before = store_state(store)
    yield store
    assert store_state(store) == before


# ---- data that the data contracts refuse: validate and train alike, before any run opens -----------------


@dataclass(frozen=True)
class Broken:
    """A model's sample data, changed as a broken weekly extract would be."""

    script: str
    fixture: str  # the sample data's fixture name
    change: Callable[[pd.DataFrame], pd.DataFrame]
    message: str
    options: tuple[str, ...] = ()


def _one(table: pd.DataFrame, column: str, row: int, value) -> pd.DataFrame:
    changed = table.copy()
    changed[column] = changed[column].astype(object)
    changed.loc[row, column] = value
    return changed


def _renamed(table: pd.DataFrame, column: str, new_name: str) -> pd.DataFrame:
    return table.set_axis([new_name if name == column else name for name in table.columns], axis=1)


def _few_positives(table: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([table[table["default"] == 0], table[table["default"] == 1].head(3)])


def _day_of_month_at_most_12(table: pd.DataFrame, layout: str) -> pd.DataFrame:
    dates = pd.to_datetime(table["date"])
    kept = table[dates.dt.day <= 12].copy()
    kept["date"] = pd.to_datetime(kept["date"]).dt.strftime(layout)
    return kept


def _no_late_anomalies(table: pd.DataFrame) -> pd.DataFrame:
    late = pd.to_datetime(table["timestamp"]) >= pd.to_datetime(table["timestamp"]).quantile(0.5)
    return table.assign(is_anomaly=table["is_anomaly"].where(~late, 0))


BROKEN = {
    "credit: a minority class of 3 rows": Broken(
        CREDIT, "credit_data", _few_positives, "3 positive rows; need at least 20 of each class"
    ),
    "credit: an infinite feature": Broken(
        CREDIT, "credit_data", lambda t: _one(t, "annual_income", 6, np.inf), "column annual_income: row 7 is inf"
    ),
    "credit: a number beyond float32": Broken(
        CREDIT, "credit_data", lambda t: _one(t, "loan_amount", 2, 1e39), "column loan_amount: row 3 is 1e+39"
    ),
    "credit: one class": Broken(
        CREDIT, "credit_data", lambda t: t.assign(default=0), "column default: only one class (0)"
    ),
    "credit: a target that is not there": Broken(
        CREDIT, "credit_data", lambda t: t, "missing column(s) outcome", ("--target", "outcome")
    ),
    # pandas reads a repeated header name as `age.1`: a training column would silently become another one.
    "credit: a column named twice": Broken(
        CREDIT,
        "credit_data",
        lambda t: _renamed(t, "loan_amount", "age"),
        "column 'age' appears 2 times (columns 2, 8)",
    ),
    "credit: the target and the protected attribute missing": Broken(
        CREDIT, "credit_data", lambda t: t.drop(columns=["default", "age"]), "missing column(s) default, age;"
    ),
    "intent: one intent": Broken(
        INTENT, "intents_data", lambda t: t.assign(intent="check_balance"), "a classifier needs two or more"
    ),
    "intent: five examples of an intent": Broken(
        INTENT,
        "intents_data",
        lambda t: pd.concat([t[t.intent != "card_block"], t[t.intent == "card_block"].head(5)]),
        "fewer than 10 examples: card_block (5)",
    ),
    "anomaly: every timestamp the same": Broken(
        ANOMALY, "transactions_data", lambda t: t.assign(timestamp="2026-03-01 10:00:00"), "nothing to train on"
    ),
    "anomaly: no anomalies in the test period": Broken(
        ANOMALY, "transactions_data", _no_late_anomalies, "no labelled anomalies after"
    ),
    "anomaly: zoned and naive timestamps in one column": Broken(
        ANOMALY,
        "transactions_data",
        lambda t: _one(t, "timestamp", 3, "2026-03-01T10:00:00+05:30"),
        "row 4 has a time zone ('2026-03-01T10:00:00+05:30') and row 1 has none",
    ),
    "anomaly: epochs in seconds and milliseconds": Broken(
        ANOMALY,
        "transactions_data",
        lambda t: t.assign(timestamp=np.where(t.index == 0, 1.7e12, 1.7e9)),
        "epochs in more than one unit (ms, s)",
    ),
    "anomaly: a transaction dated 1900": Broken(
        ANOMALY, "transactions_data", lambda t: _one(t, "timestamp", 6, "1900-01-01 00:00:00"), "row 7 is 1900-01-01"
    ),
    "anomaly: a transaction dated 2099": Broken(
        ANOMALY, "transactions_data", lambda t: _one(t, "timestamp", 2, "2099-06-30 12:00:00"), "row 3 is 2099-06-30"
    ),
    "spending: a day in 1900": Broken(
        SPENDING, "spending_data", lambda t: _one(t, "date", 4, "1900-01-01"), "column date: row 5 is 1900-01-01"
    ),
    "anomaly: an infinite amount": Broken(
        ANOMALY, "transactions_data", lambda t: _one(t, "amount", 4, np.inf), "column amount: row 5 is inf"
    ),
    "spending: dates that are day-first and month-first alike": Broken(
        SPENDING,
        "spending_data",
        lambda t: _day_of_month_at_most_12(t, "%d/%m/%Y"),
        "day-first or month-first alike; pass --date-order day-first or month-first",
    ),
    "spending: day-first and month-first dates in one column": Broken(
        SPENDING,
        "spending_data",
        lambda t: t.assign(date=pd.to_datetime(t.date).dt.strftime("%d/%m/%Y").where(t.index != 5, "01/31/2026")),
        "month-first ('01/31/2026')",
    ),
    "spending: a category named total": Broken(
        SPENDING, "spending_data", lambda t: _one(t, "category", 8, "total"), "row 9 is 'total', the name of the total"
    ),
    "spending: a column named twice": Broken(
        SPENDING, "spending_data", lambda t: _renamed(t, "category", "amount"), "column 'amount' appears 2 times"
    ),
    "spending: every column it reads missing": Broken(
        SPENDING,
        "spending_data",
        lambda t: t.set_axis(["day", "user_id", "kind", "sum"], axis=1),
        "missing column(s) date, amount, category;",
    ),
    "anomaly: a column named twice": Broken(
        ANOMALY, "transactions_data", lambda t: _renamed(t, "merchant", "amount"), "column 'amount' appears 2 times"
    ),
    # beyond spaCy's nlp.max_length (1,000,000): a traceback before
    "ner: a text of two million characters": Broken(
        NER,
        "annotated_data",
        lambda t: _one(t, "text", 3, "paid " * 400_000),
        "line 4: `text` has 2,000,000 characters",
    ),
    "spending: a negative infinite amount": Broken(
        SPENDING, "spending_data", lambda t: _one(t, "amount", 1, -np.inf), "row 2 is '-inf', expected a finite"
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_data_is_refused_before_any_run_opens(case, request, tmp_path, unchanged):
    source = request.getfixturevalue(case.fixture)
    table = pd.read_json(source, lines=True) if source.suffix == ".jsonl" else pd.read_csv(source)
    broken = tmp_path / f"broken{source.suffix}"
    changed = case.change(table)
    if source.suffix == ".jsonl":
        changed.to_json(broken, orient="records", lines=True)
    else:
        changed.to_csv(broken, index=False)
    for subcommand in ("validate", "train"):
        assert_refused(
            run_step(case.script, subcommand, "--data", broken, *case.options, env=unchanged), 2, case.message
        )


def test_a_fifo_as_data_is_refused_at_once(tmp_path, unchanged):
    """Reading a FIFO with no writer never returns (before: killed by run_step's timeout): in a pod, a step stuck
    until Airflow's execution timeout."""
    fifo = tmp_path / "transactions.csv"
    os.mkfifo(fifo)
    for arguments in (
        (ANOMALY, "validate", "--data", fifo),
        (ANOMALY, "train", "--data", fifo),
        (DRIFT, "check", "--model", "anomaly_detector", "--current", fifo),
    ):
        assert_refused(run_step(*arguments, env=unchanged), 2, f"{fifo}: not a regular file")


def test_a_date_order_flag_reads_what_would_be_ambiguous(spending_data, tmp_path, step_env):
    dates = tmp_path / "day-first.csv"
    _day_of_month_at_most_12(pd.read_csv(spending_data), "%d/%m/%Y").to_csv(dates, index=False)
    run = run_step(SPENDING, "validate", "--data", dates, "--date-order", "day-first", env=step_env)
    assert run.exit_code == 0, run.stderr[-2000:]


# ---- where data may come from ----------------------------------------------------------------------------


# fsspec's inline-bytes protocol: "default,age\n1,30\n"
INLINE_DATA = "data:text/plain;base64,ZGVmYXVsdCxhZ2UKMSwzMAo="


@pytest.fixture
def data_root(tmp_path, credit_data, unchanged):
    root = tmp_path / "data"
    root.mkdir()
    (root / "applications.csv").write_bytes(credit_data.read_bytes())
    (tmp_path / "secret.csv").write_text("user,password\nroot,hunter2\n")
    (root / "link.csv").symlink_to(tmp_path / "secret.csv")
    return root, unchanged | {"NIVESH_DATA_ROOT": str(root)}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("{root}/../secret.csv", "outside the data root"),
        ("{root}/link.csv", "outside the data root"),
        ("/etc/passwd", "/etc/passwd: outside the data root"),
        ("http://169.254.169.254/latest/meta-data/", "http:// is not an allowed source here"),
        ("simplecache::file:///etc/passwd", "simplecache::file:// is not an allowed source here"),
        (INLINE_DATA, "data: is not an allowed source here"),
    ],
    ids=["dot-dot", "symlink out", "absolute path", "metadata endpoint", "chained protocol", "inline data"],
)
def test_data_is_read_only_under_the_data_root_and_from_allowed_schemes(data_root, path, message):
    root, env = data_root
    run = run_step(CREDIT, "validate", "--data", path.format(root=root), env=env)
    assert_refused(run, 2, message)
    assert "hunter2" not in run.stdout + run.stderr


def test_inline_data_is_refused_where_any_local_file_is_read(unchanged):
    """Steps run by hand have no data root: fsspec's `data:` protocol was then read as a table."""
    assert_refused(run_step(CREDIT, "validate", "--data", INLINE_DATA, env=unchanged), 2, "data: is not an allowed")


def test_data_under_the_root_is_read(data_root):
    root, env = data_root
    assert run_step(CREDIT, "validate", "--data", root / "applications.csv", env=env).exit_code == 0


# ---- the registry --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "arguments", "exit_code", "message"),
    [
        (CREDIT, ("evaluate", "--run-id", "../../etc/passwd"), 2, "not an MLflow run id"),
        (CREDIT, ("promote", "--version", "99999999999999999999"), 2, "Invalid value for '--version'"),
        (CREDIT, ("promote", "--version", "9"), 2, "--version 9: credit_risk_scorer has no such version"),
        (ANOMALY, ("register", "--run-id", "{credit_run}"), 2, "a run of credit_risk_scorer, not of anomaly_detector"),
        (ANOMALY, ("evaluate", "--run-id", "{credit_run}"), 2, "not of anomaly_detector; nothing judged or recorded"),
        (CREDIT, ("rollback",), 2, "no 'previous' version to roll back to; production stays v1"),
    ],
    ids=[
        "run id path",
        "20-digit version",
        "unknown version",
        "another model's run registered",
        "another model's run judged",
        "nothing to roll back to",
    ],
)
def test_registry_commands_refuse_what_does_not_fit(script, arguments, exit_code, message, credit_run_id, unchanged):
    arguments = [part.format(credit_run=credit_run_id) for part in arguments]
    assert_refused(run_step(script, *arguments, env=unchanged), exit_code, message)


# ---- new data that does not cover what production serves: stopped at check_drift, before training -------


@pytest.fixture
def collapsed_default_rate(credit_data, tmp_path) -> Path:
    """The credit sample with 60 of its defaults kept: 7.2% of rows, production's 48%."""
    table = pd.read_csv(credit_data)
    collapsed = tmp_path / "collapsed.csv"
    pd.concat([table[table["default"] == 0], table[table["default"] == 1].head(60)]).to_csv(collapsed, index=False)
    return collapsed


def test_credit_data_whose_default_rate_collapsed_is_stopped(collapsed_default_rate, unchanged):
    run = run_step(DRIFT, "check", "--model", "credit_risk_scorer", "--current", collapsed_default_rate, env=unchanged)
    assert_refused(run, 3, "column default does not cover what production v1 was trained on: 1: 7.2% of all")
    assert run.result["coverage"]["column"] == "default" and run.result["production_version"] == 1


def test_a_run_trained_by_hand_on_such_data_is_not_registered(collapsed_default_rate, store):
    """Steps run by hand skip check_drift, and gates lowered by hand pass: register holds the run's own class counts
    against production's, so `candidate` never names a model trained on data that production's check stops."""
    trained = run_step(CREDIT, "train", "--data", collapsed_default_rate, "--tune-trials", "0", env=store)
    assert trained.exit_code == 0, trained.stderr[-2000:]
    run_id = trained.result["run_id"]
    lowered = ("--min-accuracy", "0", "--min-precision", "0", "--min-recall", "0", "--min-roc-auc", "0")
    for gate in (("fairness", "--min-disparate-impact", "0"), ("evaluate", *lowered)):
        passed = run_step(CREDIT, gate[0], "--run-id", run_id, *gate[1:], env=store)
        assert passed.exit_code == 0, passed.stderr[-2000:]
    registry = store_state(store)["models"]
    run = run_step(CREDIT, "register", "--run-id", run_id, env=store)
    assert_refused(run, 3, "column default does not cover what production v1 was trained on: 1: 7.2% of all")
    assert run.result["coverage"]["column"] == "default" and store_state(store)["models"] == registry


def test_ner_data_with_only_amounts_is_stopped(annotated_data, tmp_path, unchanged):
    records = [json.loads(line) for line in annotated_data.read_text().splitlines()]
    only_amounts = tmp_path / "amounts.jsonl"
    kept = [{**record, "entities": [span for span in record["entities"] if span[2] == "AMOUNT"]} for record in records]
    only_amounts.write_text("\n".join(json.dumps(record) for record in kept))
    run = run_step(DRIFT, "check", "--model", "financial_ner", "--current", only_amounts, env=unchanged)
    assert_refused(run, 3, "column entities does not cover what production v1 was trained on")
    assert "DATE: none (production was trained on" in run.result["error"]


def test_new_data_whose_identifiers_repeat_is_measured_for_drift(transactions_data, tmp_path, store):
    """A weekly extract that joined a table twice repeats its ids: drift is measured on it, never a crash."""
    table = pd.read_csv(transactions_data)
    repeated = tmp_path / "repeated-ids.csv"
    pd.concat([table, table.head(200)]).to_csv(repeated, index=False)
    run = run_step(DRIFT, "check", "--model", "anomaly_detector", "--current", repeated, env=store)
    assert run.exit_code == 0, run.stderr[-3000:]
    # the same transactions, some twice: no column drifts, and the data did change
    assert run.result["drift_share"] == 0 and run.result["retrain"] and run.result["reason"].startswith("data changed")


# ---- the tracking server and what is printed ---------------------------------------------------------------


def test_credentials_in_the_tracking_uri_are_never_printed(credit_data, tmp_path):
    env = step_environment(tmp_path) | {"MLFLOW_TRACKING_URI": "http://alice:s3cret@127.0.0.1:9"}
    run = run_step(CREDIT, "train", "--data", credit_data, env=env)
    assert_refused(run, 1, "MLflow tracking server http://***@127.0.0.1:9 cannot be reached")
    written = (Path(env["NIVESH_XCOM_DIR"]) / "return.json").read_text()
    assert "s3cret" not in run.stdout + run.stderr + written


def test_an_amount_whose_sums_would_overflow_is_refused_in_strict_json(spending_data, tmp_path, step_env):
    """1e308 passed validate once, its daily sums overflowing to infinity; the result is strict JSON either way."""
    huge = tmp_path / "huge.csv"
    pd.read_csv(spending_data).assign(amount=1e308).to_csv(huge, index=False)
    run = run_step(SPENDING, "validate", "--data", huge, env=step_env)
    assert_refused(run, 2, "column amount: row 1 is '1e+308', expected a finite number ≥ 0 up to 1e+09")

    def refuse(constant: str):
        raise AssertionError(f"{constant} is not JSON")

    json.loads(run.stdout.splitlines()[-1], parse_constant=refuse)


def test_nothing_was_left_behind(store):
    """The store still holds what the module found, and no lock (a registered `<model>.lock`)."""
    assert aliases(store, "credit_risk_scorer") == {"production": 1}
    models = set(store_state(store)["models"])
    assert {"credit_risk_scorer", "financial_ner", "anomaly_detector"} <= models
    assert not [model for model in models if model.endswith(".lock")]


def test_one_models_bad_dates_in_the_drift_report_are_its_row_only(store, transactions_data, credit_data, tmp_path):
    zoned = tmp_path / "zoned.csv"
    _one(pd.read_csv(transactions_data), "timestamp", 3, "2026-03-01T10:00:00+05:30").to_csv(zoned, index=False)
    before = store_state(store)
    models = ("--models", f"anomaly_detector={zoned}", "--models", f"credit_risk_scorer={credit_data}")
    run = run_step(DRIFT, "report", *models, env=store)
    assert run.exit_code == 0, run.stderr[-2000:]
    rows = {row["model"]: row for row in run.result["models"]}
    assert rows["anomaly_detector"]["retrain"] is None and "has a time zone" in rows["anomaly_detector"]["reason"]
    assert rows["credit_risk_scorer"]["retrain"] is False
    after = store_state(store)
    new_runs = set(after["runs"]) - set(before["runs"])
    assert {status for _, status in new_runs} == {"FINISHED"}, "the report and credit's drift run; no failed run"
    assert len(new_runs) == 2 and after["models"] == before["models"]


def test_a_category_that_climbs_out_of_a_folder_is_stored_under_a_safe_name(spending_data, tmp_path):
    env = step_environment(tmp_path / "store")
    escaping = tmp_path / "escaping.csv"
    table = pd.read_csv(spending_data)
    table.assign(category=table["category"].where(table["category"] != "travel", "../../travel")).to_csv(
        escaping, index=False
    )
    trained = run_step(SPENDING, "train", "--data", escaping, env=env)
    assert trained.exit_code == 0, trained.stderr[-2000:]
    stored = {a.path for a in client_for(env).list_artifacts(trained.result["run_id"], "category_models")}
    assert {path for path in stored if "travel" in path} == {"category_models/travel-8d1b1b23.json"}
    assert "../../travel" in trained.result["holdout_mape_by_category"]
    assert not list(tmp_path.parent.glob("travel*")), "nothing written outside the run's folders"
