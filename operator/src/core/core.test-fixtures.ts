import type { Sandbox, Workshop } from "../api/index.js";
import { workshopSpecSchema } from "../api/workshop.js";
import type { ObservedPod } from "./observed-pod.js";
import { DEFAULT_SANDBOX_DEFAULTS } from "./operator-config.js";
import type { SandboxObservation } from "./sandbox-plan.js";

export const NOW = new Date("2026-03-01T10:00:00Z");

export function workshop(spec: Record<string, unknown> = {}): Workshop {
  return {
    apiVersion: "launchbay.dev/v1alpha1",
    kind: "Workshop",
    metadata: { name: "pydata", namespace: "events", uid: "w-uid", generation: 1 },
    spec: workshopSpecSchema.parse({ title: "Parallel Python", ...spec }),
  };
}

export function sandbox(
  overrides: Partial<Sandbox["metadata"]> = {},
  spec: Partial<Sandbox["spec"]> = {},
): Sandbox {
  return {
    apiVersion: "launchbay.dev/v1alpha1",
    kind: "Sandbox",
    metadata: {
      name: "alice",
      namespace: "events",
      uid: "s-uid",
      generation: 1,
      creationTimestamp: "2026-03-01T09:59:00Z",
      finalizers: ["launchbay.dev/namespace"],
      labels: { "launchbay.dev/workshop": "pydata" },
      ...overrides,
    },
    spec: { workshop: "pydata", owner: "alice@example.org", ...spec },
  };
}

export function pod(component: string, patch: Partial<ObservedPod> = {}): ObservedPod {
  return {
    namespace: "ns",
    name: `${component}-${Math.random().toString(36).slice(2, 7)}`,
    component,
    phase: "Running",
    ready: true,
    deleting: false,
    restarts: 0,
    terminations: [],
    ...patch,
  };
}

export function readyPods(workers = 3): ObservedPod[] {
  return [
    pod("scheduler"),
    pod("notebook"),
    ...Array.from({ length: workers }, () => pod("worker")),
  ];
}

export function observation(patch: Partial<SandboxObservation> = {}): SandboxObservation {
  return {
    sandbox: sandbox(),
    workshop: { found: true, workshop: workshop() },
    namespacePhase: "Absent",
    children: new Map(),
    secretExists: false,
    pods: [],
    admitted: true,
    now: NOW,
    defaults: DEFAULT_SANDBOX_DEFAULTS,
    ...patch,
  };
}
