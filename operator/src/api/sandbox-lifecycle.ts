import { ANNOTATIONS, API_VERSION, LABELS, SANDBOX_KIND } from "./constants.js";
import { findCondition } from "./conditions.js";
import { parseDuration } from "./duration.js";
import type { Sandbox } from "./resources.js";
import type { SandboxPhase, WorkshopSpec } from "./workshop.js";

/** What a progress view needs to show for one sandbox. */
export interface SandboxPhaseSummary {
  phase: SandboxPhase;
  ready: boolean;
  /** Human-readable: why it is not ready yet, or that it is ready. */
  message: string;
  /** Components ready so far, e.g. `{ scheduler: true, workers: false, notebook: true }`. */
  components: { scheduler: boolean; workers: boolean; notebook: boolean };
  expiresAt?: string;
  readyAt?: string;
}

export function sandboxPhaseSummary(sandbox: Sandbox): SandboxPhaseSummary {
  const status = sandbox.status ?? {};
  const conditions = status.conditions;
  const isTrue = (type: string) => findCondition(conditions, type)?.status === "True";
  const phase: SandboxPhase = sandbox.metadata.deletionTimestamp
    ? "Expiring"
    : (status.phase ?? "Pending");
  const ready = phase === "Ready" && isTrue("Ready");
  const summary: SandboxPhaseSummary = {
    phase,
    ready,
    message: status.message ?? defaultMessage(phase),
    components: {
      scheduler: isTrue("SchedulerReady"),
      workers: isTrue("WorkersReady"),
      notebook: isTrue("NotebookReady"),
    },
  };
  const expiresAt = status.expiresAt ?? sandbox.spec.expiresAt;
  if (expiresAt) summary.expiresAt = expiresAt;
  if (status.readyAt) summary.readyAt = status.readyAt;
  return summary;
}

function defaultMessage(phase: SandboxPhase): string {
  switch (phase) {
    case "Pending":
      return "Waiting for the operator";
    case "Provisioning":
      return "Starting the scheduler, workers and notebook";
    case "Ready":
      return "Ready";
    case "Expiring":
      return "Expiring: removing the sandbox";
    case "Failed":
      return "Failed";
  }
}

/** A warm-pool sandbox an attendee can take: no owner yet, Ready, not going away. */
export function isClaimable(sandbox: Sandbox): boolean {
  return (
    !sandbox.spec.owner &&
    !sandbox.metadata.deletionTimestamp &&
    sandbox.status?.phase === "Ready" &&
    findCondition(sandbox.status.conditions, "Ready")?.status === "True"
  );
}

/**
 * JSON merge patch that claims a warm sandbox. It carries the resourceVersion the caller
 * read, so two launchers racing for the same sandbox cannot both win: the loser gets 409
 * Conflict and should try the next one.
 */
export function claimPatch(sandbox: Sandbox, owner: string, expiresAt: Date) {
  if (!sandbox.metadata.resourceVersion) {
    throw new Error("claimPatch needs a sandbox read from the API (it has no resourceVersion)");
  }
  return {
    metadata: { resourceVersion: sandbox.metadata.resourceVersion },
    spec: { owner, expiresAt: expiresAt.toISOString() },
  };
}

/** JSON merge patch that moves a sandbox's expiry (the operator caps it at maxLifetime). */
export function extendPatch(expiresAt: Date) {
  return { spec: { expiresAt: expiresAt.toISOString() } };
}

/** JSON merge patch recording user activity seen by the launcher (for the idle timeout). */
export function activityPatch(at: Date) {
  return { metadata: { annotations: { [ANNOTATIONS.lastActivity]: at.toISOString() } } };
}

/** A new Sandbox object as the launcher creates it. */
export function newSandbox(options: {
  name?: string;
  generateName?: string;
  namespace: string;
  workshop: string;
  owner?: string;
  expiresAt?: Date;
}): {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
  spec: Record<string, string>;
} {
  if (!options.name && !options.generateName) {
    throw new Error("newSandbox needs a name or a generateName");
  }
  const metadata: Record<string, unknown> = {
    namespace: options.namespace,
    labels: { [LABELS.workshop]: options.workshop },
  };
  if (options.name) metadata.name = options.name;
  else metadata.generateName = options.generateName;
  const spec: Record<string, string> = { workshop: options.workshop };
  if (options.owner) spec.owner = options.owner;
  if (options.expiresAt) spec.expiresAt = options.expiresAt.toISOString();
  return { apiVersion: API_VERSION, kind: SANDBOX_KIND, metadata, spec };
}

/** Lifetime and cap of a workshop in milliseconds. */
export function workshopLifetimes(spec: WorkshopSpec): {
  lifetimeMs: number;
  maxLifetimeMs: number;
  idleTimeoutMs?: number;
} {
  const lifetimeMs = parseDuration(spec.lifetime) ?? 2 * 3600_000;
  const maxLifetimeMs = parseDuration(spec.maxLifetime) ?? lifetimeMs;
  const idle = spec.idleTimeout ? parseDuration(spec.idleTimeout) : undefined;
  return idle ? { lifetimeMs, maxLifetimeMs, idleTimeoutMs: idle } : { lifetimeMs, maxLifetimeMs };
}

/**
 * The moment a claimed sandbox goes: its requested expiresAt (or claim + lifetime), never
 * later than claim + maxLifetime, and earlier if idle for idleTimeout. Unclaimed warm
 * sandboxes without an expiresAt never expire. Times in epoch milliseconds.
 */
export function effectiveExpiry(input: {
  requestedExpiresAt?: number;
  claimedAt?: number;
  lastActivityAt?: number;
  lifetimeMs: number;
  maxLifetimeMs: number;
  idleTimeoutMs?: number;
}): { at: number; reason: "Requested" | "Lifetime" | "MaxLifetime" | "Idle" } | undefined {
  const { requestedExpiresAt, claimedAt, lifetimeMs, maxLifetimeMs, idleTimeoutMs } = input;
  let best: { at: number; reason: "Requested" | "Lifetime" | "MaxLifetime" | "Idle" } | undefined;
  const consider = (at: number, reason: "Requested" | "Lifetime" | "MaxLifetime" | "Idle") => {
    if (!best || at < best.at) best = { at, reason };
  };
  if (requestedExpiresAt !== undefined) consider(requestedExpiresAt, "Requested");
  if (claimedAt !== undefined) {
    if (requestedExpiresAt === undefined) consider(claimedAt + lifetimeMs, "Lifetime");
    consider(claimedAt + maxLifetimeMs, "MaxLifetime");
    if (idleTimeoutMs !== undefined) {
      consider(Math.max(claimedAt, input.lastActivityAt ?? claimedAt) + idleTimeoutMs, "Idle");
    }
  }
  return best;
}
