import { randomBytes } from "node:crypto";

/** A workshop sized so several sandboxes fit on the test control plane's two kwok nodes. */
export function smallWorkshop(name: string, namespace: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "launchbay.dev/v1alpha1",
    kind: "Workshop",
    metadata: { name, namespace },
    spec: {
      title: `Test workshop ${name}`,
      sandbox: {
        workers: 2,
        resources: {
          scheduler: { cpu: "100m", memory: "128Mi" },
          worker: { cpu: "100m", memory: "256Mi" },
          notebook: { cpu: "100m", memory: "256Mi" },
        },
      },
      ...spec,
    },
  };
}

export function sandboxObject(name: string, namespace: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "launchbay.dev/v1alpha1",
    kind: "Sandbox",
    metadata: { name, namespace },
    spec,
  };
}

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString("hex")}`;

export const paths = {
  workshops: (ns: string) => `/apis/launchbay.dev/v1alpha1/namespaces/${ns}/workshops`,
  sandboxes: (ns: string) => `/apis/launchbay.dev/v1alpha1/namespaces/${ns}/sandboxes`,
  namespaces: "/api/v1/namespaces",
  deployments: (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  networkPolicies: (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`,
  pods: (ns: string) => `/api/v1/namespaces/${ns}/pods`,
};

/** Minimal shapes the tests read. */
export interface SandboxView {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec: { workshop: string; owner?: string; expiresAt?: string };
  status?: {
    phase?: string;
    namespace?: string;
    message?: string;
    expiresAt?: string;
    readyAt?: string;
    endpoints?: { scheduler?: string; dashboard?: string; notebook?: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

export const isReady = (s: SandboxView | undefined) =>
  s?.status?.phase === "Ready" &&
  (s.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
