"""Notifications through Airflow connections to real servers on 127.0.0.1: a Slack webhook and an SMTP server."""

import email
import http.server
import json
import socket
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import structlog
from aiosmtpd.controller import Controller
from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk.execution_time.callback_supervisor import execute_callback

from nivesh_contract.catalog import model_named
from nivesh_pipelines.notify import deliver
from nivesh_pipelines.pipeline import build_training_dag
from nivesh_platform.cluster import ALERT_CONNECTION_EXAMPLES

log = structlog.get_logger()


class _Webhook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def slack_webhook(monkeypatch):
    _Webhook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXXX"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_WEBHOOK", json.dumps({"conn_type": "slackwebhook", "password": url}))
    yield _Webhook.received
    server.shutdown()


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    mailbox, port = _Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    extra = {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@nivesh.ai"}
    connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    yield mailbox.messages
    controller.stop()


def test_slack_message_reaches_the_webhook(slack_webhook):
    assert deliver("[nivesh] credit_risk_training", "credit_risk_scorer: promoted v3", {}) == ["slack"]
    assert slack_webhook == [{"text": "*[nivesh] credit_risk_training*\ncredit_risk_scorer: promoted v3"}]


def test_email_reaches_the_smtp_server(smtp_server):
    assert deliver("[nivesh] anomaly_detector_training", "anomaly_detector: failed at step train_model", {}) == [
        "email"
    ]
    ((recipients, content),) = smtp_server
    assert recipients == ["ml-ops@nivesh.ai"] and "Subject: [nivesh] anomaly_detector_training" in content


def test_data_quoted_in_an_email_alert_is_text_not_markup(smtp_server):
    hostile = (
        'credit_risk_scorer: failed at step validate_data: x.csv: missing column(s) <img src=x onerror="alert(1)">'
    )
    deliver("[nivesh] credit_risk_training", hostile, {})
    ((_, content),) = smtp_server
    body = email.message_from_string(content).get_payload(decode=True) or b""
    parts = [body] if body else [part.get_payload(decode=True) for part in email.message_from_string(content).walk()]
    html = b"".join(part for part in parts if part).decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html and "<img" not in html


def test_both_channels_when_both_are_configured(slack_webhook, smtp_server):
    assert deliver("s", "m", {}) == ["slack", "email"]
    assert len(slack_webhook) == len(smtp_server) == 1


def test_without_connections_the_log_and_the_file(tmp_path, monkeypatch):
    notifications = tmp_path / "notifications.log"
    monkeypatch.setenv("AIRFLOW_VAR_NIVESH_NOTIFICATION_FILE", str(notifications))
    assert deliver("[nivesh] x", "x: promoted v1", {}) == ["log"]
    assert deliver("[nivesh] y", "y: failed at step validate_data", {}) == ["log"]
    text = notifications.read_text()
    assert "[nivesh] x\nx: promoted v1" in text and "y: failed at step validate_data" in text


def test_the_alert_connections_we_document_reach_slack_s_webhook_url_and_name_a_sender(monkeypatch):
    """What `make deploy` and the README tell users to put in Secret nivesh-alerts, read as Airflow reads it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, uri in ALERT_CONNECTION_EXAMPLES.items():
        assert f"--from-literal={name}='{uri}'" in readme, name
        monkeypatch.setenv(name, uri)
    assert SlackWebhookHook(slack_webhook_conn_id="slack_webhook").get_conn().url == (
        "https://hooks.slack.com/services/T000/B000/XXXX"
    )
    smtp = SmtpHook.get_connection("smtp_default")
    assert (smtp.host, smtp.port, smtp.extra_dejson["from_email"]) == ("smtp.example.com", 587, "nivesh@example.com")


def test_unreachable_webhook_fails_loudly(monkeypatch):
    url = f"http://127.0.0.1:{_free_port()}/services/T/B/X"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_WEBHOOK", json.dumps({"conn_type": "slackwebhook", "password": url}))
    with pytest.raises(Exception, match=r"Connection refused|URLError|Errno 111"):
        deliver("s", "m", {})


def test_data_quoted_in_a_slack_message_cannot_mention_or_link(slack_webhook):
    deliver("[nivesh] s", "intent_classifier: failed: x.jsonl: unknown intent <!channel> <http://evil|bank>", {})
    ((message,),) = [list(received.values()) for received in slack_webhook]
    assert "&lt;!channel&gt; &lt;http://evil|bank&gt;" in message and "<!channel>" not in message


def test_a_missed_deadline_alerts_through_the_notifiers_as_airflow_calls_it(tmp_path, monkeypatch):
    """Airflow's executor runs the deadline callback by its path, with the run as its REST API shows it."""
    notifications = tmp_path / "notifications.log"
    monkeypatch.setenv("AIRFLOW_VAR_NIVESH_NOTIFICATION_FILE", str(notifications))
    (alert,) = build_training_dag(model_named("credit_risk_scorer")).deadline
    run = {"dag_id": "credit_risk_training", "dag_run_id": "scheduled__2026-11-28T03:00:00+00:00", "state": "running"}
    context = {"dag_run": run | {"queued_at": "2026-11-28T03:00:02Z"}, "deadline": {"id": "d1"}}

    kwargs = {**alert.callback.kwargs, "context": context}
    succeeded, error = execute_callback(alert.callback.path, kwargs, dag_rel_path="", bundle_path=None, log=log)

    assert succeeded, error
    text = notifications.read_text()
    assert "[nivesh] credit_risk_training missed its 240 min deadline" in text
    assert "run scheduled__2026-11-28T03:00:00+00:00: still running 240 min after it was queued" in text
