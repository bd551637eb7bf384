"""The alert rules as Prometheus loads them (`promtool check rules`) and as their unit tests expect them to fire
(`promtool test rules`, Debian's promtool)."""

import shutil
import subprocess

from nivesh_platform.prometheus import RULES_FILE

RULE_TESTS = RULES_FILE.with_name("nivesh-alerts.test.yml")


def test_the_rules_load_and_each_alert_has_what_to_do(promtool):
    checked = subprocess.run([promtool, "check", "rules", RULES_FILE], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS: 5 rules found" in checked.stdout, checked.stdout + checked.stderr


def test_the_rules_fire_when_and_only_when_their_unit_tests_say(promtool):
    tested = subprocess.run([promtool, "test", "rules", RULE_TESTS], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_unit_tests_catch_a_changed_threshold(promtool, tmp_path):
    rule = "nivesh_pipeline_failed_runs_in_a_row >= "
    changed = RULES_FILE.read_text().replace(f"{rule}2", f"{rule}3")
    (tmp_path / RULES_FILE.name).write_text(changed)
    shutil.copy(RULE_TESTS, tmp_path)
    tested = subprocess.run([promtool, "test", "rules", tmp_path / RULE_TESTS.name], capture_output=True, text=True)
    assert tested.returncode == 1 and "NiveshPipelineFailingTwiceInARow" in tested.stdout + tested.stderr
