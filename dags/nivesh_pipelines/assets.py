"""Each model's training data as an Airflow asset: its DAG runs on its weekly schedule or when the asset is updated.

An upstream data job (or `nivesh-platform publish-data MODEL PATH`) posts an event for the asset through Airflow's
REST API with `extra={"path": PATH}`; the run that event starts trains on that path (see steps.data_path).
"""

from datetime import timedelta

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable
from cron_descriptor import CasingTypeEnum, ExpressionDescriptor

from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import DATA_EVENT_PATH_KEY, data_asset_name
from nivesh_pipelines.snapshots import newest_data_file

# Airflow skips scheme-specific URI checks for schemes starting with "x-": the URI only identifies the asset, it
# names no location (the data root differs between the laptop and the cluster; the event names the file).
URI_PREFIX = "x-nivesh://training-data/"


def data_asset(model: ModelDeclaration) -> Asset:
    """`credit_risk_scorer_training_data` (`x-nivesh://training-data/credit_risk_scorer`)."""
    return Asset(name=data_asset_name(model.name), uri=URI_PREFIX + model.name)


def cron_from_next_slot(cron: str) -> CronTriggerTimetable:
    """A cron schedule (UTC) whose first run is its next slot, never a past one, wherever schedules are on (the
    cluster, `make ui`). For a DAG without start_date: with one, a DAG that has no scheduled run yet starts one for its
    latest past slot as soon as the scheduler sees it (catchup=False or not). run_immediately=timedelta(0): its
    default, False, still starts the past slot when it is less than a tenth of the period old (16.8 hours of a week)."""
    return CronTriggerTimetable(cron, timezone="UTC", run_immediately=timedelta(0))


def training_schedule(model: ModelDeclaration) -> AssetOrTimeSchedule:
    """The model's weekly cron or an event of its data asset, whichever comes first."""
    return AssetOrTimeSchedule(timetable=cron_from_next_slot(model.schedule), assets=data_asset(model))


def schedule_tag(model: ModelDeclaration) -> str:
    """`At 04:00, only on Friday (UTC) or on new data`: a DAG tag, because Airflow 3's DAG list shows an
    asset-or-time schedule as the asset alone. Worded by cron_descriptor, as Airflow words a cron's description."""
    weekly_time = ExpressionDescriptor(model.schedule, casing_type=CasingTypeEnum.Sentence, use_24hour_time_format=True)
    return f"{weekly_time.get_description()} (UTC) or on new data"


def published_data_path(triggering_asset_events, asset_name: str) -> str:
    """The path the newest event of `asset_name` that started this run names in its extra; "" when none did (a
    manual or scheduled run). A DAG macro: steps.data_path's template calls it with `triggering_asset_events`."""
    published = [
        (event.timestamp, path)
        for asset, events in triggering_asset_events.items()
        if asset.name == asset_name
        for event in events
        if isinstance(path := (event.extra or {}).get(DATA_EVENT_PATH_KEY), str) and path
    ]
    return max(published)[1] if published else ""


# newest_snapshot: a run that neither names its data nor was started by a data event trains on the newest snapshot
# its refresh DAG announced (refresh.py), where there is one.
MACROS = {"published_data_path": published_data_path, "newest_snapshot": newest_data_file}
