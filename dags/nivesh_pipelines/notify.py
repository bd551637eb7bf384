"""Notifications: Slack (connection `slack_webhook`) and email (connection `smtp_default`) where configured.

With neither configured, a message goes to the task log and, where the Variable
`nivesh_notification_file` names one, to that file: `make run` shows them.
"""

import logging
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseHook, BaseNotifier, Variable
from airflow.sdk.exceptions import AirflowNotFoundException

log = logging.getLogger(__name__)

ALERT_EMAIL = "ml-ops@nivesh.ai"
SLACK_CONNECTION = "slack_webhook"
SMTP_CONNECTION = "smtp_default"


def _configured(conn_id: str) -> bool:
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def deliver(subject: str, message: str, context) -> list[str]:
    """Send to every configured channel (errors propagate: the calling task fails); returns the channels."""
    channels = []
    if _configured(SLACK_CONNECTION):
        text = f"*{subject}*\n{_slack_text(message)}"
        SlackWebhookNotifier(slack_webhook_conn_id=SLACK_CONNECTION, text=text).notify(context)
        channels.append("slack")
    if _configured(SMTP_CONNECTION):
        html = f"<pre>{escape(message)}</pre>"  # the message quotes data (a column, a file name): text, not markup
        SmtpNotifier(to=ALERT_EMAIL, subject=subject, html_content=html, smtp_conn_id=SMTP_CONNECTION).notify(context)
        channels.append("email")
    if not channels:
        _to_log_and_file(subject, message)
        channels.append("log")
    return channels


def _slack_text(message: str) -> str:
    """Slack's escaping: quoted data cannot turn into a link or a mention (`<!channel>`, `<url|text>`)."""
    return message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _to_log_and_file(subject: str, message: str) -> None:
    log.info("notification (no slack_webhook or smtp_default connection): %s\n%s", subject, message)
    path = Variable.get("nivesh_notification_file", default="")
    if path:
        with open(path, "a") as notifications:
            notifications.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC {subject}\n{message}\n")


class FinalFailureNotifier(BaseNotifier):
    """`on_failure_callback`: Airflow calls it once a task has failed for good (after its last retry)."""

    template_fields = ("subject",)

    def __init__(self, subject: str = "[nivesh] {{ ti.dag_id }}.{{ ti.task_id }} failed", **kwargs):
        super().__init__(**kwargs)
        self.subject = subject

    def notify(self, context) -> None:
        ti = context["ti"]
        error = context.get("exception")
        message = f"DAG {ti.dag_id}, task {ti.task_id}, run {ti.run_id}, try {ti.try_number}: {error}"
        deliver(self.subject, message, context)


class ApprovalRequestNotifier(BaseNotifier):
    """A human-in-the-loop task's notifier: the team hears that a run waits for their answer, what it is asked,
    and where to answer (the run's page, where the Variable `nivesh_airflow_base_url` says Airflow is)."""

    def notify(self, context) -> None:
        ti, task = context["ti"], context["task"]
        base = Variable.get("nivesh_airflow_base_url", default="").rstrip("/")
        where = f"{base}/dags/{ti.dag_id}/runs/{quote(ti.run_id, safe='')}" if base else f"run {ti.run_id}"
        message = f"{task.subject} Answer at task {ti.task_id} of {where}\n\n{task.body}"
        deliver(f"[nivesh] {ti.dag_id}: approval needed", message, context)
