"""The Pod Security Standard `restricted` (the training namespace enforces it), as checks on a pod spec."""

ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
ALLOWED_SECCOMP = {"RuntimeDefault", "Localhost"}


def restricted_violations(pod_spec: dict) -> list[str]:
    """What in `pod_spec` (a serialised PodSpec) the `restricted` standard would refuse."""
    violations = []
    pod_context = pod_spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(flag):
            violations.append(f"{flag} is set")
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            violations.append(f"volume {volume['name']}: {', '.join(sorted(kinds - ALLOWED_VOLUMES))} not allowed")
    containers = (pod_spec.get("initContainers") or []) + pod_spec["containers"]
    for container in containers:
        context = container.get("securityContext") or {}
        name = container["name"]
        if context.get("privileged"):
            violations.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            violations.append(f"{name}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            violations.append(f"{name}: capabilities do not drop ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            violations.append(f"{name}: adds capabilities {capabilities['add']}")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            violations.append(f"{name}: runAsNonRoot is not true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            violations.append(f"{name}: runs as UID 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ALLOWED_SECCOMP:
            violations.append(f"{name}: seccompProfile is {seccomp}, not RuntimeDefault or Localhost")
    return violations
