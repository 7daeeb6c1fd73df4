import { findCondition } from "../api/conditions.js";
import { LABELS, POOL_WARM } from "../api/constants.js";
import type { Sandbox, Workshop, WorkshopStatus } from "../api/index.js";
import { warmPoolDeficit as poolDeficit } from "../api/warm-pool.js";
import { SANDBOX_PHASES } from "../api/workshop.js";

/**
 * How many warm sandboxes to create now: the shared policy (api/warm-pool.ts; a failed
 * warm sandbox keeps its slot) applied to the workshop's Sandboxes.
 */
export function warmPoolDeficit(input: {
  warmPool: number;
  maxSandboxes: number | undefined;
  sandboxes: readonly Sandbox[];
}): number {
  return poolDeficit({
    warmPool: input.warmPool,
    maxSandboxes: input.maxSandboxes,
    members: input.sandboxes.map((s) => ({
      unclaimed: !s.spec.owner,
      ending: Boolean(s.metadata.deletionTimestamp),
    })),
  });
}

/** A new warm-pool Sandbox for the workshop (the API server picks the name suffix). */
export function warmSandbox(workshop: Workshop) {
  return {
    apiVersion: "launchbay.dev/v1alpha1",
    kind: "Sandbox",
    metadata: {
      generateName: `${workshop.metadata.name.slice(0, 40)}-warm-`,
      namespace: workshop.metadata.namespace,
      labels: { [LABELS.workshop]: workshop.metadata.name, [LABELS.pool]: POOL_WARM },
    },
    spec: { workshop: workshop.metadata.name },
  };
}

/** Counts by phase, warm and claimed sandboxes, and the workshop's conditions. */
export function workshopStatus(
  workshop: Workshop,
  sandboxes: readonly Sandbox[],
  now: Date,
): WorkshopStatus {
  const counts = Object.fromEntries(SANDBOX_PHASES.map((p) => [p, 0])) as Record<
    (typeof SANDBOX_PHASES)[number],
    number
  >;
  let warm = 0;
  let claimed = 0;
  for (const s of sandboxes) {
    const phase = s.metadata.deletionTimestamp ? "Expiring" : (s.status?.phase ?? "Pending");
    counts[phase] += 1;
    if (phase === "Failed") continue;
    if (s.spec.owner) claimed += 1;
    else if (phase === "Ready") warm += 1;
  }
  const max = workshop.spec.maxSandboxes;
  const live = sandboxes.length - counts.Failed;
  const atCapacity = max !== undefined && live >= max;
  const previous = workshop.status?.conditions;
  const condition = (type: string, status: "True" | "False", reason: string, message: string) => {
    const old = findCondition(previous, type);
    return {
      type,
      status,
      reason,
      message,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now.toISOString(),
      observedGeneration: workshop.metadata.generation,
    };
  };
  const conditions = [
    condition(
      "CapacityAvailable",
      atCapacity ? "False" : "True",
      atCapacity ? "AtCapacity" : "SlotsFree",
      max === undefined ? "No sandbox limit" : `${live} of ${max} sandboxes in use`,
    ),
    condition(
      "WarmPoolReady",
      warm >= workshop.spec.warmPool ? "True" : "False",
      warm >= workshop.spec.warmPool ? "Filled" : "Filling",
      `${warm} of ${workshop.spec.warmPool} warm sandboxes ready`,
    ),
  ];
  return {
    observedGeneration: workshop.metadata.generation,
    sandboxes: sandboxes.length,
    counts,
    warm,
    claimed,
    conditions,
  };
}
