{{/*
Every resource name is defined once, here.
*/}}

{{- define "launchbay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-launchbay`, or `<release>` when the release name already says launchbay. */}}
{{- define "launchbay.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "launchbay.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "launchbay.operator.name" -}}{{ include "launchbay.fullname" . }}-operator{{- end -}}
{{- define "launchbay.web.name" -}}{{ include "launchbay.fullname" . }}-web{{- end -}}
{{- define "launchbay.web.secretName" -}}
{{- .Values.web.auth.existingSecret | default (printf "%s-web-auth" (include "launchbay.fullname" .)) -}}
{{- end -}}
{{- define "launchbay.operator.secretName" -}}
{{- .Values.operator.auth.existingSecret | default (printf "%s-operator-auth" (include "launchbay.fullname" .)) -}}
{{- end -}}
{{- define "launchbay.archive.secretName" -}}
{{- .Values.archive.s3.existingSecret | default (printf "%s-archive" (include "launchbay.fullname" .)) -}}
{{- end -}}
{{- /* The object storage's port: archive.port, else the endpoint URL's, else 443 (80 for http). */ -}}
{{- define "launchbay.archive.port" -}}
{{- if .Values.archive.port -}}{{ .Values.archive.port }}
{{- else if .Values.archive.s3.endpoint -}}
{{- $u := urlParse .Values.archive.s3.endpoint -}}
{{- $hostPort := splitList ":" $u.host -}}
{{- if eq (len $hostPort) 2 -}}{{ index $hostPort 1 }}{{- else if eq $u.scheme "http" -}}80{{- else -}}443{{- end -}}
{{- else -}}443{{- end -}}
{{- end -}}
{{- /* Egress to the object storage (operator and launcher), when archives are on. */ -}}
{{- define "launchbay.archiveEgress" -}}
{{- if .Values.archive.enabled }}
- ports:
    - protocol: TCP
      port: {{ include "launchbay.archive.port" . }}
  {{- with .Values.archive.egress }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}
{{- /* The S3 settings both the operator and the launcher read (LAUNCHBAY_ARCHIVE_S3_*). */ -}}
{{- define "launchbay.archiveConfig" -}}
{{- if .Values.archive.enabled }}
LAUNCHBAY_ARCHIVE_S3_BUCKET: {{ .Values.archive.s3.bucket | quote }}
{{- with .Values.archive.s3.endpoint }}
LAUNCHBAY_ARCHIVE_S3_ENDPOINT: {{ . | quote }}
{{- end }}
LAUNCHBAY_ARCHIVE_S3_REGION: {{ .Values.archive.s3.region | quote }}
LAUNCHBAY_ARCHIVE_S3_PREFIX: {{ .Values.archive.s3.prefix | quote }}
LAUNCHBAY_ARCHIVE_S3_PATH_STYLE: {{ .Values.archive.s3.pathStyle | toString | quote }}
{{- end }}
{{- end -}}
{{- define "launchbay.archiveCredentials" -}}
{{- if .Values.archive.enabled }}
- name: LAUNCHBAY_ARCHIVE_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "launchbay.archive.secretName" . }}
      key: access-key-id
- name: LAUNCHBAY_ARCHIVE_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "launchbay.archive.secretName" . }}
      key: secret-access-key
{{- end }}
{{- end -}}
{{- define "launchbay.generatedSecrets.name" -}}{{ include "launchbay.fullname" . }}-generated-secrets{{- end -}}
{{- define "launchbay.web.configName" -}}{{ include "launchbay.fullname" . }}-web-config{{- end -}}
{{- define "launchbay.operator.configName" -}}{{ include "launchbay.fullname" . }}-operator-config{{- end -}}
{{- define "launchbay.operator.admissionPolicyName" -}}{{ .Release.Namespace }}-{{ include "launchbay.fullname" . }}-operator{{- end -}}
{{- define "launchbay.operator.leaseName" -}}{{ include "launchbay.fullname" . }}-operator-leader{{- end -}}
{{- define "launchbay.operator.clusterRoleName" -}}{{ .Release.Namespace }}-{{ include "launchbay.fullname" . }}-operator{{- end -}}
{{- define "launchbay.web.clusterRoleName" -}}{{ .Release.Namespace }}-{{ include "launchbay.fullname" . }}-web{{- end -}}
{{- define "launchbay.prePuller.name" -}}{{ include "launchbay.fullname" . }}-pre-puller{{- end -}}
{{- define "launchbay.cleanup.name" -}}{{ include "launchbay.fullname" . }}-cleanup{{- end -}}
{{- define "launchbay.ingress.tlsSecretName" -}}
{{- .Values.web.ingress.tls.secretName | default (printf "%s-tls" (include "launchbay.fullname" .)) -}}
{{- end -}}
{{- define "launchbay.workshop.accessSecretName" -}}
{{- .Values.workshop.access.existingSecret | default (printf "%s-access-code" (include "launchbay.fullname" .)) -}}
{{- end -}}

{{/* Labels every chart object carries. The component label is added per object. */}}
{{- define "launchbay.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "launchbay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: launchbay
{{- end -}}

{{/*
Selector labels of a component: (dict "root" $ "component" "operator").
The launcher's pods carry app.kubernetes.io/component=launcher: the sandboxes'
NetworkPolicies admit traffic from exactly that label (the operator's --launcher-pod-label).
*/}}
{{- define "launchbay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "launchbay.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "launchbay.componentLabels" -}}
{{ include "launchbay.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference: (dict "root" $ "image" .Values.images.web). */}}
{{- define "launchbay.image" -}}
{{- $tag := .image.tag | default .root.Values.images.tag | default .root.Chart.AppVersion -}}
{{- if hasPrefix "@" $tag -}}
{{- printf "%s%s" .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Pod and container security contexts that pass Pod Security `restricted`. */}}
{{- define "launchbay.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "launchbay.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Spread a component's replicas over nodes when the cluster has several: the given affinity,
plus the default podAntiAffinity unless it sets its own (a nodeAffinity alone keeps it).
*/}}
{{- define "launchbay.affinity" -}}
{{- $affinity := deepCopy (.affinity | default dict) -}}
{{- if not (hasKey $affinity "podAntiAffinity") -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "launchbay.selectorLabels" (dict "root" .root "component" .component) | fromYaml)) -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) -}}
{{- end -}}
{{ toYaml $affinity }}
{{- end -}}

{{/* Which proxies' X-Forwarded-* headers the launcher believes: a hop count or an address list (never true). */}}
{{- define "launchbay.web.trustProxy" -}}
{{- if kindIs "invalid" .Values.web.trustProxy -}}
{{- ternary "1" "false" .Values.web.ingress.enabled -}}
{{- else -}}
{{- .Values.web.trustProxy -}}
{{- end -}}
{{- end -}}

{{/* The URL attendees open. */}}
{{- define "launchbay.url" -}}
{{- if and .Values.web.ingress.enabled .Values.web.ingress.host -}}
{{- printf "%s://%s/" (ternary "https" "http" .Values.web.ingress.tls.enabled) .Values.web.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* Fails the render with a message saying what to change. */}}
{{- define "launchbay.validate" -}}
{{- if and .Values.web.ingress.enabled .Values.web.ingress.tls.enabled (not .Values.web.ingress.host) -}}
{{- fail "web.ingress.tls.enabled needs web.ingress.host (the name the certificate is for): set web.ingress.host=workshop.example.org, or web.ingress.tls.enabled=false" -}}
{{- end -}}
{{- if and .Values.web.ingress.enabled .Values.web.ingress.host (not .Values.web.sandboxDomain) -}}
{{- fail "web.ingress.host needs web.sandboxDomain: every sandbox is served from its own origin <sandbox>.<sandboxDomain>; set web.sandboxDomain=sandboxes.example.org and point wildcard DNS *.sandboxes.example.org at the ingress" -}}
{{- end -}}
{{- if and .Values.web.sandboxDomain (eq .Values.web.sandboxDomain .Values.web.ingress.host) -}}
{{- fail "web.sandboxDomain must not be web.ingress.host itself: use a subdomain such as sandboxes.example.org" -}}
{{- end -}}
{{- if and .Values.web.ingress.tls.certManagerIssuer .Values.web.ingress.tls.certManagerClusterIssuer -}}
{{- fail "set only one of web.ingress.tls.certManagerIssuer and web.ingress.tls.certManagerClusterIssuer" -}}
{{- end -}}
{{- if eq .Values.workshop.access.mode "accessCode" -}}
{{- if and (not .Values.workshop.access.code) (not .Values.workshop.access.existingSecret) -}}
{{- fail "workshop.access.mode=accessCode needs workshop.access.existingSecret (a Secret holding the code) or workshop.access.code" -}}
{{- end -}}
{{- if and .Values.workshop.access.code (lt (len .Values.workshop.access.code) 4) -}}
{{- fail "workshop.access.code must be at least 4 characters" -}}
{{- end -}}
{{- end -}}
{{- if and (kindIs "float64" .Values.workshop.maxSandboxes) (gt (int .Values.workshop.warmPool) (int .Values.workshop.maxSandboxes)) -}}
{{- fail (printf "workshop.warmPool (%d) cannot exceed workshop.maxSandboxes (%d)" (int .Values.workshop.warmPool) (int .Values.workshop.maxSandboxes)) -}}
{{- end -}}
{{- if .Values.archive.enabled -}}
{{- if not .Values.archive.s3.bucket -}}
{{- fail "archive.enabled needs archive.s3.bucket (an S3 API bucket; for GCS also archive.s3.endpoint=https://storage.googleapis.com and archive.s3.region=auto)" -}}
{{- end -}}
{{- if and (not .Values.archive.s3.existingSecret) (or (not .Values.archive.s3.accessKeyId) (not .Values.archive.s3.secretAccessKey)) -}}
{{- fail "archive.enabled needs archive.s3.existingSecret (a Secret with keys access-key-id and secret-access-key) or both archive.s3.accessKeyId and archive.s3.secretAccessKey" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.operator.podDisruptionBudget.enabled (ge (int .Values.operator.podDisruptionBudget.minAvailable) (int .Values.operator.replicas)) (gt (int .Values.operator.podDisruptionBudget.minAvailable) 0) -}}
{{- fail (printf "operator.podDisruptionBudget.minAvailable (%d) must be below operator.replicas (%d), or a node drain can never evict an operator pod" (int .Values.operator.podDisruptionBudget.minAvailable) (int .Values.operator.replicas)) -}}
{{- end -}}
{{- if and .Values.web.podDisruptionBudget.enabled (ge (int .Values.web.podDisruptionBudget.minAvailable) (int .Values.web.replicas)) (gt (int .Values.web.podDisruptionBudget.minAvailable) 0) -}}
{{- fail (printf "web.podDisruptionBudget.minAvailable (%d) must be below web.replicas (%d), or a node drain can never evict a launcher pod" (int .Values.web.podDisruptionBudget.minAvailable) (int .Values.web.replicas)) -}}
{{- end -}}
{{- end -}}

{{/* k=v,k=v from a map, keys sorted. */}}
{{- define "launchbay.joinLabels" -}}
{{- $pairs := list -}}
{{- range $k, $v := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* Labels the operator puts on the namespaces of this release's sandboxes. */}}
{{- define "launchbay.sandboxNamespaceLabels" -}}
app.kubernetes.io/managed-by: launchbay-operator
launchbay.dev/sandbox-namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* NetworkPolicy egress rule to the cluster DNS. */}}
{{- define "launchbay.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.operator.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.operator.dns.podLabels | nindent 10 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end -}}

{{/*
NetworkPolicy of a pod that only calls the API server (the hook Jobs): no ingress; egress to
the cluster DNS and the API server's ports. (dict "root" $ "component" <c> "annotations" <map>)
*/}}
{{- define "launchbay.apiClientNetworkPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "launchbay.fullname" .root }}-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "launchbay.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  podSelector:
    matchLabels:
      {{- include "launchbay.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
  policyTypes: ["Ingress", "Egress"]
  ingress: []
  egress:
    {{- include "launchbay.dnsEgress" .root | nindent 4 }}
    - ports:
        {{- range .root.Values.operator.networkPolicy.apiServerPorts }}
        - protocol: TCP
          port: {{ . }}
        {{- end }}
{{- end -}}
