"""The contract package: dependency-free, every declaration file read strictly, the Makefile's queries."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nivesh_contract
from nivesh_contract.catalog import MODELS, STEP_IMAGES, UnknownModelError, model_named
from nivesh_contract.declaration_file import DeclarationError, load_declaration

CONTRACT_SRC = Path(nivesh_contract.__file__).parents[1]
MINIMAL = """
name = "toy_model"
schedule = "0 5 * * 2"
data_file = "toy/data.csv"
description = "A toy."
owner = "Toy team (#toys)"
inputs = "x: a number"
outputs = "label: 0 or 1"
summary_metrics = ["test_accuracy"]

[image]
directory = "toy"
size_target_mb = 100

[promotion]
metric = "test_accuracy"
tolerance = 0.01

[[thresholds]]
metric = "test_accuracy"
at_least = 0.7
"""


def declared(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "toy.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_importing_the_catalog_pulls_in_nothing_but_the_standard_library():
    probe = (
        "import sys; import nivesh_contract.catalog; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - {'__main__'})))"
    )
    imported = subprocess.run(
        [sys.executable, "-S", "-c", probe], env={"PYTHONPATH": str(CONTRACT_SRC)}, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["nivesh_contract"]


def test_a_minimal_declaration_takes_the_defaults(tmp_path):
    model = load_declaration(declared(tmp_path, MINIMAL))
    assert model.dag_id == "toy_model_training" and model.trigger_task_id == "trigger_toy_model"
    assert (model.image.ref, model.image.console_script) == ("nivesh/toy:0.1.0", "nivesh-toy")
    assert model.gate_names == ("evaluate",) and model.options == () and model.data_checks == ()
    assert [setting.name for setting in model.settings] == ["min_accuracy", "tolerance", "drift_share"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda text: text.replace('schedule = "0 5 * * 2"\n', ""),
            "missing 1 required keyword-only argument: 'schedule'",
        ),
        (lambda text: text.replace("[image]", "[picture]"), "missing key 'image'"),
        (lambda text: text + 'owner = "me"\n', "unexpected keyword argument 'owner'"),
        (lambda text: text.replace("at_least = 0.7", "at_least = 0.7\nat_most = 0.9"), "exactly one of at_least"),
        (lambda text: text + '[drift]\nkind = "graph"\n', "drift: kind 'graph'"),
        (lambda text: text.replace("at_least = 0.7", 'at_least = 0.7\ngate = "fairness"'), "name a gate it does not"),
        (
            lambda text: text.replace(
                'metric = "test_accuracy"\nat', 'metric = "test_accuracy"\nname = "tolerance"\nat'
            ),
            "settings and options need distinct names",
        ),
        (lambda text: text.replace('name = "toy_model"', "name = toy_model"), "Invalid value"),
        (
            lambda text: (
                text + '[[options]]\nname = "rule"\ndefault = "fast"\nchoices = ["cost", "recall"]\nhelp = "."\n'
            ),
            "option rule: default 'fast' is not one of cost",
        ),
        (
            lambda text: text + '[[options]]\nname = "tune"\ndefault = true\nhelp = "."\n',
            "option tune: the default must be text, a whole number or a number",
        ),
    ],
    ids=[
        *("no schedule", "no image", "unknown key", "two directions", "unknown drift", "unknown gate", "clash"),
        *("toml", "default outside the choices", "a flag without a value type"),
    ],
)
def test_a_broken_declaration_is_one_error_naming_the_file(tmp_path, change, message):
    path = declared(tmp_path, change(MINIMAL))
    with pytest.raises(DeclarationError) as raised:
        load_declaration(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_a_rollout_is_direct_unless_declared_and_a_staged_one_names_what_it_compares(tmp_path):
    assert load_declaration(declared(tmp_path, MINIMAL)).rollout.strategy == "direct"
    text = MINIMAL + '[rollout]\nstrategy = "canary"\nshare_percent = 5\nprediction = "label"\n'
    rollout = load_declaration(declared(tmp_path, text)).rollout
    assert (rollout.strategy, rollout.share_percent, rollout.evaluate_after_requests) == ("canary", 5, 2000)


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ('strategy = "canary"\nshare_percent = 150\nprediction = "p"', "rollout.share_percent 150: a percentage"),
        ('strategy = "canary"\nshare_percent = -1\nprediction = "p"', "rollout.share_percent -1: a percentage"),
        ('strategy = "canary"\nshare_percent = 100\nprediction = "p"', "between 0 and 100 (exclusive)"),
        ('strategy = "blue-green"', "rollout.strategy 'blue-green': one of direct, shadow, canary"),
        ('strategy = "shadow"', "rollout.prediction: the output field to compare"),
        ('strategy = "shadow"\nprediction = "p"\nevaluate_after_requests = 0', "at least 1"),
        ('strategy = "shadow"\nprediction = "p"\nmax_prediction_shift = nan', "max_prediction_shift nan"),
        ('strategy = "shadow"\nprediction = "p"\nshare = 10', "unexpected keyword argument 'share'"),
    ],
    ids=[
        *("share over 100", "negative share", "share 100", "unknown strategy", "no prediction", "no requests"),
        *("nan", "unknown key"),
    ],
)
def test_a_broken_rollout_is_one_error_naming_the_file(tmp_path, rollout, message):
    path = declared(tmp_path, f"{MINIMAL}[rollout]\n{rollout}\n")
    with pytest.raises(DeclarationError) as raised:
        load_declaration(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_an_unbounded_setting_is_written_inf(tmp_path):
    text = MINIMAL.replace("at_least = 0.7", "at_least = 0.7\nminimum = -inf\nmaximum = inf")
    (threshold,) = load_declaration(declared(tmp_path, text)).thresholds
    assert (threshold.minimum, threshold.maximum) == (None, None)


def test_every_declared_model_is_found_by_name_and_an_unknown_one_is_named():
    assert [model_named(model.name) for model in MODELS] == list(MODELS)
    with pytest.raises(UnknownModelError, match="toy: not a declared model \\(known: credit_risk_scorer, "):
        model_named("toy")


def test_every_model_declares_what_its_gates_and_summary_read():
    for model in MODELS:
        gated = {threshold.metric for threshold in model.thresholds}
        assert model.promotion.metric in gated | set(model.summary_metrics), model.name
        assert gated <= set(model.summary_metrics), f"{model.name}: the summary shows every gated metric"
        assert model.quick_sample, f"{model.name}: tests need a quick sample"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("directories", " ".join(image.directory for image in STEP_IMAGES)),
        ("step-images", " ".join(f"{image.directory}:{image.name}" for image in STEP_IMAGES)),
        ("image-version", "0.1.0"),
    ],
)
def test_the_makefile_queries_need_only_python(query, expected):
    answered = subprocess.run(
        [sys.executable, "-S", "-m", "nivesh_contract", query],
        env={"PYTHONPATH": str(CONTRACT_SRC)},
        capture_output=True,
        text=True,
    )
    assert answered.returncode == 0 and answered.stdout.strip() == expected


def test_an_unknown_query_says_which_there_are():
    answered = subprocess.run([sys.executable, "-m", "nivesh_contract", "models"], capture_output=True, text=True)
    assert answered.returncode == 1 and "directories|step-images|image-version" in answered.stderr


SOURCE = '[source]\nquery = "toy.sql"\nschedule = "0 4 * * 2"\nwindow_days = 30\n'
TOY_QUERY = "SELECT x FROM t WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s ORDER BY x"


def test_a_source_reads_its_query_beside_the_declaration_and_keeps_eight_snapshots(tmp_path):
    (tmp_path / "toy.sql").write_text(TOY_QUERY)
    model = load_declaration(declared(tmp_path, MINIMAL + SOURCE))
    assert model.source.query == TOY_QUERY and model.source.keep_snapshots == 8 and model.source.format == "parquet"
    assert model.refresh_dag_id == "toy_model_data_refresh" and model.data_folder == "toy"
    assert load_declaration(declared(tmp_path, MINIMAL)).source is None


@pytest.mark.parametrize(
    ("change", "query", "message"),
    [
        (
            lambda text: text,
            "SELECT x FROM t WHERE recorded_at < %(window_end)s",
            "toy.sql does not use %(window_start)s",
        ),
        (lambda text: text.replace("window_days = 30", "window_days = 0"), TOY_QUERY, "window_days must be a whole"),
        (lambda text: text + "keep_snapshots = 2.5\n", TOY_QUERY, "keep_snapshots must be a whole number"),
        (lambda text: text + 'format = "csv"\n', TOY_QUERY, "format 'csv': expected one of parquet, jsonl"),
        (lambda text: text.replace('"toy.sql"', '"../toy.sql"'), TOY_QUERY, "the name of a .sql file beside"),
        (lambda text: text.replace('"toy.sql"', '"other.sql"'), TOY_QUERY, "No such file or directory"),
    ],
    ids=["no window start", "no window", "fractional count", "unknown format", "a path", "no such file"],
)
def test_a_broken_source_is_one_error_naming_the_file(tmp_path, change, query, message):
    (tmp_path / "toy.sql").write_text(query)
    path = declared(tmp_path, MINIMAL + change(SOURCE))
    with pytest.raises(DeclarationError) as raised:
        load_declaration(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
