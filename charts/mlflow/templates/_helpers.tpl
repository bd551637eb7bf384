{{/* The server's name: the release name (`mlflow`), or <release>-mlflow. */}}
{{- define "mlflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 }}{{ end }}
{{- end }}

{{- define "mlflow.postgresql" -}}
{{ include "mlflow.fullname" . }}-postgresql
{{- end }}

{{- define "mlflow.authSecret" -}}
{{ include "mlflow.fullname" . }}-auth
{{- end }}

{{- define "mlflow.postgresqlSecret" -}}
{{ .Values.postgresql.auth.existingSecret | default (include "mlflow.postgresql" .) }}
{{- end }}

{{- define "mlflow.labels" -}}
app.kubernetes.io/part-of: nivesh-mlflow
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* Selector labels of one component (mlflow or postgresql). */}}
{{- define "mlflow.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Non-root, no privilege escalation, no capabilities, read-only root filesystem. */}}
{{- define "mlflow.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}
