{{/* The chart's name, or nameOverride. */}}
{{- define "outagewatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects: fullnameOverride, or release-chart (once). */}}
{{- define "outagewatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "outagewatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels of every object. */}}
{{- define "outagewatch.labels" -}}
helm.sh/chart: {{ include "outagewatch.chart" . }}
{{ include "outagewatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the pods. */}}
{{- define "outagewatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outagewatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount's name. */}}
{{- define "outagewatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "outagewatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret that holds the Postgres DSN. */}}
{{- define "outagewatch.postgresSecret" -}}
{{- if .Values.postgres.existingSecret }}
{{- .Values.postgres.existingSecret }}
{{- else }}
{{- printf "%s-postgres" (include "outagewatch.fullname" .) }}
{{- end }}
{{- end }}

{{/* The PVC of the SQLite database. */}}
{{- define "outagewatch.claimName" -}}
{{- if .Values.persistence.existingClaim }}
{{- .Values.persistence.existingClaim }}
{{- else }}
{{- printf "%s-data" (include "outagewatch.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Checks the values, failing the render with a message that says what to change.
*/}}
{{- define "outagewatch.validate" -}}
{{- if and (not .Values.postgres.enabled) (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "outagewatch: replicaCount is %d, but the embedded SQLite database allows one replica: set replicaCount: 1, or postgres.enabled: true with postgres.existingSecret (a cluster shares Postgres; docs/cluster.md)" (int .Values.replicaCount)) }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail "outagewatch: replicaCount must be at least 1" }}
{{- end }}
{{- if and .Values.postgres.enabled (not .Values.postgres.existingSecret) (not .Values.postgres.dsn) }}
{{- fail "outagewatch: postgres.enabled needs the DSN: postgres.existingSecret (a Secret with the key postgres.secretKey), or postgres.dsn" }}
{{- end }}
{{- if and .Values.postgres.existingSecret .Values.postgres.dsn }}
{{- fail "outagewatch: set postgres.existingSecret or postgres.dsn, not both" }}
{{- end }}
{{- end }}

{{/*
The daemon's configuration file: the packaged base (deploy/outagewatch.yaml) with the chart's
ports, and .Values.config merged over it.
*/}}
{{- define "outagewatch.config" -}}
{{- $base := dict
  "log" (dict "level" "info" "format" "json")
  "api" (dict "addr" (printf ":%d" (int .Values.ports.api)))
  "ingest" (dict "grpc_addr" (printf ":%d" (int .Values.ports.otlpGrpc)) "http_addr" (printf ":%d" (int .Values.ports.otlpHttp)))
  "store" (dict "data_dir" "/var/lib/outagewatch")
}}
{{- $cfg := mustMergeOverwrite $base (deepCopy (.Values.config | default dict)) }}
{{- toYaml $cfg }}
{{- end }}
