"""Optional approval before production (regulated models): the run waits at an Airflow human-in-the-loop task
that shows the candidate's gates and its comparison with production; Approve promotes, Reject keeps production."""

import os
from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param

from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.results import Judged, Promoted
from nivesh_pipelines.notify import ApprovalRequestNotifier

APPROVAL = "approve_promotion"
APPROVAL_DECISION = "approval_required"
# XCom key of the answer (options chosen, by whom): a Reject ends the task by skipping downstream, before Airflow
# would push its return value.
ANSWER = "answer"
COMPARISON = "compare_with_production"
# Where approvals are on (the cluster's Airflow sets it "true"; the embedded default leaves it unset), the
# `require_approval` param of a model declared `approval_on_cluster` defaults to true.
APPROVALS_SETTING = "NIVESH_APPROVALS"
# A weekend's run waits until Monday's review and a little more; with no answer the candidate is rejected.
RESPONSE_TIMEOUT = timedelta(days=3)


def require_approval_param(model: ModelDeclaration) -> Param:
    default = model.approval_on_cluster and os.environ.get(APPROVALS_SETTING, "").lower() == "true"
    return Param(
        default,
        type="boolean",
        description="Stop before deploy_to_production until a person approves the candidate in the UI "
        f"(no answer in {RESPONSE_TIMEOUT.days} days: rejected).",
    )


class PromotionApproval(ApprovalOperator):
    """The approval task; its body is written when it runs, from the gates' and the comparison's results."""

    def __init__(self, *, model: ModelDeclaration, **kwargs) -> None:
        super().__init__(
            task_id=APPROVAL,
            subject=f"Promote {model.name} to production?",
            defaults="Reject",
            response_timeout=RESPONSE_TIMEOUT,
            notifiers=[ApprovalRequestNotifier()],
            **kwargs,
        )
        self.model = model

    def execute(self, context):
        ti = context["ti"]
        gates = {gate.task_id: ti.xcom_pull(task_ids=gate.task_id) for gate in self.model.gates}
        self.body = approval_body(self.model, gates, ti.xcom_pull(task_ids=COMPARISON))
        return super().execute(context)

    def execute_complete(self, context, event):
        if "error" not in event:
            answer = {"chosen_options": event["chosen_options"], "responded_by_user": event["responded_by_user"]}
            context["ti"].xcom_push(key=ANSWER, value=answer)
        return super().execute_complete(context, event)


def approval_body(model: ModelDeclaration, gates: dict[str, Judged | None], comparison: Promoted | None) -> str:
    """Markdown: the candidate, each gate's checks, and how it scored against production on both test splits."""
    version = comparison["candidate_version"] if comparison else "?"
    lines = [f"**{model.name} v{version}**, run `{next(iter(gates.values()), {}).get('run_id', '?')}`", ""]
    for task_id, judged in gates.items():
        lines.append(f"**{task_id}**: " + ("passed" if judged and judged["gate"]["passed"] else "no result"))
        for check in judged["gate"]["checks"] if judged else []:
            lines.append(f"- {check['metric']} {check['value']:.4g} {check['comparison']} {check['threshold']:.4g}")
        if judged:
            others = sorted(set(judged["metrics"]) - {check["metric"] for check in judged["gate"]["checks"]})
            lines.extend(f"- {name} {judged['metrics'][name]:.4g}" for name in others)
    lines += ["", f"**Against production** ({model.promotion.metric}):"]
    if comparison is None:
        lines.append("- no comparison: see task " + COMPARISON)
    else:
        for split, scores in comparison.get("scores", {}).items():
            lines.append(
                f"- on the {split.replace('_', ' ')}: candidate {scores['candidate']:.4f}, "
                f"production {scores['production']:.4f}"
            )
        verdict = "would be promoted" if comparison.get("would_promote") else "would NOT be promoted"
        lines.append(f"- {verdict}: {comparison['reason']}")
    return "\n".join(lines)
