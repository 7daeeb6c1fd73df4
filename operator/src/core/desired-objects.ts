import { createHash } from "node:crypto";
import { ANNOTATIONS, SECRET_KEYS, SECRET_NAME } from "../api/constants.js";
import type { SandboxTemplate } from "../api/workshop.js";
import { type SandboxRef, childLabels } from "./labels.js";
import type { KubeObject } from "./kube-object.js";
import { networkPolicies } from "./network-policies.js";
import type { SandboxDefaults } from "./operator-config.js";
import { podSecurityLabels } from "./pod-security.js";
import { quotaObjects } from "./quota.js";
import { SERVICE_ACCOUNT_NAME, services, workloads } from "./workloads.js";

export interface DesiredInput {
  ref: SandboxRef;
  /** The sandbox's own namespace (see sandboxNamespaceName). */
  namespace: string;
  template: SandboxTemplate;
  defaults: SandboxDefaults;
  /**
   * The sandbox keeps its work in object storage: the operator has storage configured and
   * the workshop a retention above 0.
   */
  archive?: boolean;
}

/** The sandbox's namespace, labelled so Pod Security `restricted` is enforced. */
export function namespaceObject(ref: SandboxRef, namespace: string): KubeObject {
  return withHash({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace, labels: { ...childLabels(ref), ...podSecurityLabels() } },
  });
}

/**
 * Every object a sandbox needs except its Secret (whose random tokens are created once,
 * see secretObject), in apply order: quota and limits before pods. Each carries a hash of
 * itself so the reconciler skips objects that already match.
 */
export function desiredObjects(input: DesiredInput): KubeObject[] {
  const { ref, namespace, template, defaults } = input;
  const archive = input.archive === true && defaults.archive !== undefined;
  const objects: KubeObject[] = [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: SERVICE_ACCOUNT_NAME, namespace, labels: childLabels(ref) },
      automountServiceAccountToken: false,
    },
    ...quotaObjects({ ref, namespace, template, archive }),
    ...networkPolicies({
      ref,
      namespace,
      defaults,
      internetEgress: template.internetEgress,
      archive,
    }),
    ...services({ ref, namespace }),
    ...workloads({ ref, namespace, template, defaults, archive }),
  ];
  return objects.map(withHash);
}

/** The Secret with the runtime and notebook tokens (the caller supplies fresh randomness). */
export function secretObject(
  ref: SandboxRef,
  namespace: string,
  tokens: { runtimeToken: string; notebookToken: string },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: SECRET_NAME, namespace, labels: childLabels(ref) },
    type: "Opaque",
    stringData: {
      [SECRET_KEYS.runtimeToken]: tokens.runtimeToken,
      [SECRET_KEYS.notebookToken]: tokens.notebookToken,
    },
  };
}

/** Adds the `launchbay.dev/spec-hash` annotation computed over the object itself. */
export function withHash(object: KubeObject): KubeObject {
  const hash = createHash("sha256").update(JSON.stringify(object)).digest("hex").slice(0, 16);
  return {
    ...object,
    metadata: {
      ...object.metadata,
      annotations: { ...object.metadata.annotations, [ANNOTATIONS.specHash]: hash },
    },
  };
}

export function specHashOf(object: { metadata: { annotations?: Record<string, string> } }) {
  return object.metadata.annotations?.[ANNOTATIONS.specHash];
}
