import { LABELS, POOL_WARM, type Sandbox, sandboxPhaseSummary } from "@launchbay/operator/api";
import { CONDITION_TYPES, NEVER, type SandboxCondition, type SandboxState } from "../backend.js";

const WORKER_COUNTS = /\((\d+) of (\d+) ready\)/;

function time(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A Sandbox custom resource as the launcher sees it (pure). */
export function sandboxStateOf(sandbox: Sandbox, desiredWorkers: number): SandboxState {
  const summary = sandboxPhaseSummary(sandbox);
  const status = sandbox.status ?? {};
  const conditions: SandboxCondition[] = (status.conditions ?? [])
    .filter((c): c is typeof c & { type: SandboxCondition["type"] } =>
      (CONDITION_TYPES as readonly string[]).includes(c.type),
    )
    .map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }));
  const workersCondition = conditions.find((c) => c.type === "WorkersReady");
  const counts = workersCondition?.message ? WORKER_COUNTS.exec(workersCondition.message) : null;
  let ready = 0;
  let desired = desiredWorkers;
  if (counts) {
    ready = Number(counts[1]);
    desired = Number(counts[2]);
  } else if (workersCondition?.status === "True") {
    ready = desired;
  }
  const created = time(status.claimedAt) ?? time(sandbox.metadata.creationTimestamp) ?? Date.now();
  const owner = sandbox.spec.owner ?? "";
  const readyAt = time(status.readyAt);
  return {
    id: sandbox.metadata.name,
    owner,
    phase: summary.phase,
    conditions,
    message: summary.message,
    createdAt: created,
    readyAt,
    expiresAt: time(summary.expiresAt) ?? NEVER,
    workers: { ready, desired },
    warm: owner === "",
    launchMs: owner ? launchMsOf(sandbox, readyAt) : undefined,
  };
}

/** Annotations the launcher writes on Sandboxes, for statistics every replica can read. */
export const LAUNCH_ANNOTATIONS = {
  /** Epoch ms the attendee asked for the sandbox (set on create; the create may be queued). */
  requestedAt: "launchbay.dev/requested-at",
  /** Milliseconds a warm claim took, click → claimed (set by the claim). */
  claimMs: "launchbay.dev/claim-ms",
} as const;

/**
 * Request → Ready for a created sandbox (requested-at, else its creation), or the claim's
 * duration for a warm one the launcher claimed; undefined until it is known.
 */
function launchMsOf(sandbox: Sandbox, readyAt: number | undefined): number | undefined {
  const annotations = sandbox.metadata.annotations ?? {};
  const claimMs = Number(annotations[LAUNCH_ANNOTATIONS.claimMs]);
  if (annotations[LAUNCH_ANNOTATIONS.claimMs] !== undefined && Number.isFinite(claimMs))
    return Math.max(0, claimMs);
  // A warm-pool sandbox was Ready before anyone asked: only its claim counts.
  if (sandbox.metadata.labels?.[LABELS.pool] === POOL_WARM || readyAt === undefined)
    return undefined;
  const requested = Number(annotations[LAUNCH_ANNOTATIONS.requestedAt]);
  const from =
    Number.isFinite(requested) && requested > 0
      ? requested
      : time(sandbox.metadata.creationTimestamp);
  return from === undefined ? undefined : Math.max(0, readyAt - from);
}
