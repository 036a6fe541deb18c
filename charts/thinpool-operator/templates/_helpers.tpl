{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "thinpool-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects (63 characters at most, the DNS label limit).
The release name alone when it already contains the chart name.
*/}}
{{- define "thinpool-operator.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "thinpool-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every object of the release carries.
*/}}
{{- define "thinpool-operator.labels" -}}
helm.sh/chart: {{ include "thinpool-operator.chart" . }}
{{ include "thinpool-operator.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: thinpool-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: never change them, a Deployment's selector is immutable.
*/}}
{{- define "thinpool-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "thinpool-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector labels of the operator Deployment's pods.
*/}}
{{- define "thinpool-operator.operatorSelectorLabels" -}}
{{ include "thinpool-operator.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Labels that select the node-agent pods. The operator creates the agent DaemonSets (one per ThinPool) in
the release namespace and labels their pods with this component.
*/}}
{{- define "thinpool-operator.agentSelectorLabels" -}}
app.kubernetes.io/component: agent
{{- end }}

{{/*
ServiceAccount of the operator.
*/}}
{{- define "thinpool-operator.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "thinpool-operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
ServiceAccount of the node agents: <fullname>-agent unless named; the operator gets it with
--agent-service-account and puts it in every agent DaemonSet it creates.
*/}}
{{- define "thinpool-operator.agentServiceAccountName" -}}
{{- if .Values.agent.serviceAccount.create }}
{{- default (printf "%s-agent" (include "thinpool-operator.fullname" . | trunc 57 | trimSuffix "-")) .Values.agent.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.agent.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference of the operator: repository:tag (tag defaults to the chart's appVersion), or @digest.
*/}}
{{- define "thinpool-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Image reference of the node agents: the same image (it carries both commands) unless agent.image is set.
*/}}
{{- define "thinpool-operator.agentImage" -}}
{{- if .Values.agent.image.repository }}
{{- if .Values.agent.image.digest }}
{{- printf "%s@%s" .Values.agent.image.repository .Values.agent.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) }}
{{- end }}
{{- else }}
{{- include "thinpool-operator.image" . }}
{{- end }}
{{- end }}

{{/*
Namespace of a monitoring object: its own namespace value, else the release namespace.
*/}}
{{- define "thinpool-operator.monitoringNamespace" -}}
{{- default .root.Release.Namespace .namespace }}
{{- end }}
