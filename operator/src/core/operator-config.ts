import type { NetworkPolicyPeer, Placement } from "../api/placement.js";

/** The operator settings the pure core needs (a subset of the CLI options). */
export interface SandboxDefaults {
  /** Where sandbox pods run unless their Workshop says otherwise. */
  placement?: Placement;
  images: { scheduler: string; worker: string; notebook: string };
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** Where the launcher runs and how its pods are labelled (NetworkPolicy ingress source). */
  launcher: { namespace: string; podLabels: Record<string, string> };
  /** Where the operator runs (allowed to reach the notebook for the idle probe). */
  operator: { namespace: string; podLabels: Record<string, string> };
  /** Cluster DNS pods (the only egress outside the namespace by default). */
  dns: { namespace: string; podLabels: Record<string, string> };
  /**
   * A sandbox turns Failed once its containers crashed `maxCrashes` times within
   * `windowMs` (the kubelet restarts each crash with backoff until then).
   */
  crashLimit?: CrashLimit;
  /**
   * Set when the operator keeps attendees' work in object storage: each owned sandbox of a
   * workshop with a retention gets an archive container beside the notebook.
   */
  archive?: SandboxArchiveDefaults;
}

export interface SandboxArchiveDefaults {
  /** Where the notebook pod may connect to reach the object storage (its egress rule). */
  egress: NetworkPolicyPeer[];
  /** The object storage's port (443 for https endpoints). */
  port: number;
  /** The notebook pod's termination grace period: the archive is saved within it. */
  graceSeconds: number;
}

export interface CrashLimit {
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_CRASH_LIMIT: CrashLimit = { maxCrashes: 5, windowMs: 600_000 };

export const DEFAULT_SANDBOX_DEFAULTS: SandboxDefaults = {
  images: {
    scheduler: "ghcr.io/launchbay/scheduler:0.1.0",
    worker: "ghcr.io/launchbay/worker:0.1.0",
    notebook: "ghcr.io/launchbay/notebook:0.1.0",
  },
  imagePullPolicy: "IfNotPresent",
  launcher: { namespace: "launchbay", podLabels: { "app.kubernetes.io/component": "launcher" } },
  operator: { namespace: "launchbay", podLabels: { "app.kubernetes.io/component": "operator" } },
  dns: { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } },
};
