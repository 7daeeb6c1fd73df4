import { GROUP, SANDBOX_PLURAL, VERSION, WORKSHOP_PLURAL } from "../api/constants.js";

/** REST coordinates of every kind the operator touches. */
export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export const RESOURCES = {
  Namespace: { group: "", version: "v1", plural: "namespaces", namespaced: false },
  ServiceAccount: { group: "", version: "v1", plural: "serviceaccounts", namespaced: true },
  Secret: { group: "", version: "v1", plural: "secrets", namespaced: true },
  Service: { group: "", version: "v1", plural: "services", namespaced: true },
  ResourceQuota: { group: "", version: "v1", plural: "resourcequotas", namespaced: true },
  LimitRange: { group: "", version: "v1", plural: "limitranges", namespaced: true },
  Pod: { group: "", version: "v1", plural: "pods", namespaced: true },
  Event: { group: "", version: "v1", plural: "events", namespaced: true },
  Deployment: { group: "apps", version: "v1", plural: "deployments", namespaced: true },
  NetworkPolicy: {
    group: "networking.k8s.io",
    version: "v1",
    plural: "networkpolicies",
    namespaced: true,
  },
  Lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", namespaced: true },
  Workshop: { group: GROUP, version: VERSION, plural: WORKSHOP_PLURAL, namespaced: true },
  Sandbox: { group: GROUP, version: VERSION, plural: SANDBOX_PLURAL, namespaced: true },
} as const satisfies Record<string, ResourceInfo>;

export type Kind = keyof typeof RESOURCES;

/**
 * Kinds the operator creates inside a sandbox namespace and watches (metadata-only). Not
 * Secrets: the operator may read Secrets only by name (`sandbox-tokens`), never list or
 * watch them, so the token Secret's existence is remembered from its own create (see
 * SandboxReconciler.createSecret).
 */
export const CHILD_KINDS = [
  "ServiceAccount",
  "Service",
  "ResourceQuota",
  "LimitRange",
  "Deployment",
  "NetworkPolicy",
] as const satisfies readonly Kind[];

/** `/api/v1/namespaces/ns/pods/name/status` and friends. */
export function resourcePath(
  kind: Kind,
  options: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const info: ResourceInfo = RESOURCES[kind];
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns =
    info.namespaced && options.namespace
      ? `/namespaces/${encodeURIComponent(options.namespace)}`
      : "";
  const name = options.name ? `/${encodeURIComponent(options.name)}` : "";
  const sub = options.subresource ? `/${options.subresource}` : "";
  return `${base}${ns}/${info.plural}${name}${sub}`;
}

export function isKind(kind: string): kind is Kind {
  return kind in RESOURCES;
}
