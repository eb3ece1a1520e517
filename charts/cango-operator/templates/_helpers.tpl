{{/* Named helpers shared by every template of the chart. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "cango-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<name>", or just the release name when it already contains the name. */}}
{{- define "cango-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "cango-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Object names of the two components: the operator's objects carry the full name,
     the agent's "<fullname>-agent" (room left for "-metrics" suffixes). */}}
{{- define "cango-operator.operatorName" -}}
{{- include "cango-operator.fullname" . | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- define "cango-operator.agentName" -}}
{{- printf "%s-agent" (include "cango-operator.fullname" . | trunc 49 | trimSuffix "-") -}}
{{- end -}}

{{- define "cango-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "cango-operator.labels" -}}
helm.sh/chart: {{ include "cango-operator.chart" . }}
app.kubernetes.io/name: {{ include "cango-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cango
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "cango-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cango-operator.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one component's objects: the common ones plus its component. */}}
{{- define "cango-operator.componentLabels" -}}
{{ include "cango-operator.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cango-operator.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "cango-operator.operatorName" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cango-operator.agentServiceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (include "cango-operator.agentName" .) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The ClusterKopfPeering object the operator replicas share. */}}
{{- define "cango-operator.peeringName" -}}
{{- default (include "cango-operator.fullname" .) .Values.operator.peering.name -}}
{{- end -}}

{{/* repository:tag or repository@digest. */}}
{{- define "cango-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* A list of strings, each rendered with tpl; call with (dict "ctx" $ "items" $list). */}}
{{- define "cango-operator.tplList" -}}
{{- range $i, $item := .items }}
{{- if $i }}{{ "\n" }}{{ end -}}
- {{ tpl (toString $item) $.ctx | quote }}
{{- end }}
{{- end -}}

{{/* Downward-API environment every pod of the chart gets. */}}
{{- define "cango-operator.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef: {fieldPath: metadata.name}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef: {fieldPath: metadata.namespace}
{{- end -}}

{{/* The operator's rules for namespaced resources: cluster-wide in the default mode, in
     a Role of each watched namespace in restricted mode (operator.watchNamespaces). */}}
{{- define "cango-operator.operatorNamespacedRules" -}}
# InferenceJobs: kopf lists and watches them, the operator writes their status.
- apiGroups: [compute.cango.io]
  resources: [inferencejobs]
  verbs: [list, watch]
- apiGroups: [compute.cango.io]
  resources: [inferencejobs/status]
  verbs: [patch]
# Owner references with blockOwnerDeletion on the Deployments and Services of a job
# need this where the OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: [compute.cango.io]
  resources: [inferencejobs/finalizers]
  verbs: [update]
# What a placement becomes: one Deployment per (job, node), one Service and one
# NetworkPolicy per job, server-side applied (create when new, patch after). Services and
# NetworkPolicies go with their job (owner reference), so only Deployments are deleted.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch, create, patch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch]
# kopf posts warnings about the objects it handles as Events; the operator records what
# it did to jobs for power (WaitingForPower, ShedForPower, ...) as events.k8s.io Events.
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create]
{{- if .Values.gateway.name }}
# A job's endpoint (gateway.name): its InferencePool and HTTPRoute, server-side applied,
# gone with the job (owner reference); the Gateways are read for their address.
- apiGroups: [inference.networking.k8s.io]
  resources: [inferencepools]
  verbs: [list, watch, create, patch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [list, watch, create, patch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways]
  verbs: [list, watch]
{{- end }}
{{- if .Values.tenancy.kueue }}
# Tenants' quotas (tenancy.kueue): one Kueue Workload per replica of a queued job, deleted
# when the replica goes or Kueue takes its quota back.
- apiGroups: [kueue.x-k8s.io]
  resources: [workloads]
  verbs: [list, watch, create, patch, delete]
{{- end }}
{{- end -}}

{{/* The operator's arguments: args, a --namespace per watched namespace, extraArgs.
     Namespace flags in args or extraArgs are refused: the operator would wait for peering
     objects and permissions the chart only makes for operator.watchNamespaces. */}}
{{- define "cango-operator.operatorArgs" -}}
{{- $op := .Values.operator -}}
{{- range $key, $list := dict "args" $op.args "extraArgs" $op.extraArgs }}
{{- range $list }}
{{- $arg := toString . }}
{{- if or (hasPrefix "--namespace" $arg) (and (hasPrefix "-n" $arg) (not (hasPrefix "--" $arg))) }}
{{- fail (printf "operator.%s: %q restricts the operator to a namespace; use operator.watchNamespaces, which also creates the peering objects and Roles it needs there" $key $arg) }}
{{- end }}
{{- end }}
{{- end }}
{{- $flags := list }}
{{- if .Values.federation.enabled }}
{{- if $op.watchNamespaces }}
{{- fail "federation.enabled: the hub's operator watches ManifestWorks in every site cluster's namespace; it cannot be combined with operator.watchNamespaces" }}
{{- end }}
{{- $flags = append $flags "--federation" }}
{{- end }}
{{- if .Values.tenancy.kueue }}
{{- $flags = append $flags "--kueue" }}
{{- end }}
{{- with .Values.gateway }}
{{- if .name }}
{{- $flags = append $flags (printf "--gateway=%s/%s" (.namespace | default $.Release.Namespace) .name) }}
{{- end }}
{{- end }}
{{- range $op.watchNamespaces }}
{{- $flags = append $flags (printf "--namespace=%s" .) }}
{{- end }}
{{- include "cango-operator.tplList" (dict "ctx" . "items" (concat $op.args $flags $op.extraArgs)) }}
{{- end -}}
