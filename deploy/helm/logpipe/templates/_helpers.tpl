{{/* Labels of every object: the app's name, the common labels, and Helm's bookkeeping. */}}
{{- define "logpipe.labels" -}}
app.kubernetes.io/name: logpipe
{{- range $k, $v := .Values.commonLabels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* What selects logpipe's pods: the name only, as in deploy/kubernetes. */}}
{{- define "logpipe.selector" -}}
app.kubernetes.io/name: logpipe
{{- end -}}
