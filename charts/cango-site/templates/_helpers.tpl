{{/* Named helpers of the cango-site chart. */}}
{{- define "cango-site.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: cango-site
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cango
{{- end -}}

{{- define "cango-site.klusterletName" -}}
{{- printf "%s-klusterlet" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cango-site.agentName" -}}
{{- printf "%s-agent" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret the klusterlet writes once the hub accepts the site: the site's own hub
     credentials (kubeconfig, tls.crt, tls.key). */}}
{{- define "cango-site.hubSecret" -}}hub-kubeconfig-secret{{- end -}}

{{- define "cango-site.guardName" -}}
{{- printf "%s-guard" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
