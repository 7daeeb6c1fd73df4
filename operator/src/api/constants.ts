/** API group, versions, kinds and the label/annotation keys shared with the launcher. */
export const GROUP = "launchbay.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const WORKSHOP_KIND = "Workshop";
export const WORKSHOP_PLURAL = "workshops";
export const WORKSHOP_SINGULAR = "workshop";
export const SANDBOX_KIND = "Sandbox";
export const SANDBOX_PLURAL = "sandboxes";
export const SANDBOX_SINGULAR = "sandbox";

/** The finalizer that deletes a sandbox's namespace before the Sandbox goes. */
export const SANDBOX_FINALIZER = `${GROUP}/namespace`;

/** The field manager the operator uses for every server-side apply. */
export const FIELD_MANAGER = "launchbay-operator";

export const LABELS = {
  /** `launchbay-operator` on everything the operator creates. */
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
  /** `scheduler` | `worker` | `notebook` on sandbox workloads; `launcher` on the launcher's pods. */
  component: "app.kubernetes.io/component",
  /** Name of the Sandbox a child belongs to. */
  sandbox: `${GROUP}/sandbox`,
  /** Namespace of the Sandbox a child belongs to (children live in another namespace). */
  sandboxNamespace: `${GROUP}/sandbox-namespace`,
  /** Name of the Workshop (set on Sandboxes and on their children). */
  workshop: `${GROUP}/workshop`,
  /** `warm` on Sandboxes the operator created for a workshop's warm pool. */
  pool: `${GROUP}/pool`,
} as const;

export const MANAGED_BY_VALUE = "launchbay-operator";
export const PART_OF_VALUE = "launchbay";
export const POOL_WARM = "warm";
export const LAUNCHER_COMPONENT = "launcher";

export const ANNOTATIONS = {
  /** Hash of the desired object, so unchanged children are not re-applied. */
  specHash: `${GROUP}/spec-hash`,
  /**
   * Last user activity (RFC 3339) the launcher saw for a sandbox; the operator uses the
   * later of this and what the notebook itself reports for the idle timeout.
   */
  lastActivity: `${GROUP}/last-activity`,
  /**
   * On a terminating sandbox namespace: when the operator saw its last pod stop (the
   * update makes the namespace controller finish the deletion without waiting longer).
   */
  podsStoppedAt: `${GROUP}/pods-stopped-at`,
} as const;

/** Ports the runtime images listen on. */
export const PORTS = {
  scheduler: 8786,
  worker: 8789,
  notebook: 8888,
} as const;

/** Names of the per-sandbox Services (also the in-cluster DNS names). */
export const SERVICE_NAMES = {
  scheduler: "scheduler",
  workers: "workers",
  notebook: "notebook",
} as const;

/** Keys of the per-sandbox Secret. */
export const SECRET_NAME = "sandbox-tokens";
export const SECRET_KEYS = {
  runtimeToken: "runtime-token",
  notebookToken: "notebook-token",
} as const;
