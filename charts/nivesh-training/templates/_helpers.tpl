{{/* Labels on every object of this chart. */}}
{{- define "nivesh-training.labels" -}}
app.kubernetes.io/part-of: nivesh-training
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
