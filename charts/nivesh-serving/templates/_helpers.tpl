{{/* Labels on every object of this chart. */}}
{{- define "nivesh-serving.labels" -}}
app.kubernetes.io/part-of: nivesh-serving
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* A model's name as Kubernetes names it: dashes for underscores. */}}
{{- define "nivesh-serving.dns" -}}
{{- . | replace "_" "-" -}}
{{- end }}

{{/* Pod Security `restricted`: the container security context of every pod here. */}}
{{- define "nivesh-serving.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* MLflow's address and login, for a model image's container. */}}
{{- define "nivesh-serving.mlflowEnv" -}}
- name: MLFLOW_TRACKING_URI
  valueFrom:
    configMapKeyRef:
      name: {{ .Values.mlflow.configMap }}
      key: MLFLOW_TRACKING_URI
- name: MLFLOW_TRACKING_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.mlflow.credentialsSecret }}
      key: username
- name: MLFLOW_TRACKING_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.mlflow.credentialsSecret }}
      key: password
{{- end }}
