import { findCondition } from "../api/conditions.js";
import {
  ANNOTATIONS,
  API_VERSION,
  LABELS,
  POOL_WARM,
  SANDBOX_FINALIZER,
  WORKSHOP_KIND,
} from "../api/constants.js";
import type { Sandbox, SandboxStatus, Workshop } from "../api/index.js";
import { effectiveExpiry, workshopLifetimes } from "../api/sandbox-lifecycle.js";
import { desiredObjects, namespaceObject, specHashOf } from "./desired-objects.js";
import type { KubeObject } from "./kube-object.js";
import { objectKey } from "./kube-object.js";
import type { SandboxRef } from "./labels.js";
import { sandboxEndpoints, sandboxNamespaceName } from "./names.js";
import { stableStringify } from "./stable-json.js";
import type { ObservedPod } from "./observed-pod.js";
import type { SandboxDefaults } from "./operator-config.js";
import { crashHistory, crashMessage } from "./crash-history.js";
import { DEFAULT_CRASH_LIMIT } from "./operator-config.js";
import { deriveConditions, mergeConditions } from "./sandbox-status.js";

/** The Ready condition's reason of a sandbox that crashed too often. */
export const CRASHED_REASON = "RepeatedCrashes";

/** Everything reconcile observed about one sandbox. */
export interface SandboxObservation {
  sandbox: Sandbox;
  /** The sandbox's Workshop, or why there is none usable. */
  workshop:
    | { found: true; workshop: Workshop }
    | { found: false; reason: "NotFound" | "Invalid"; message: string };
  /** The sandbox namespace as seen: absent, Active or Terminating. */
  namespacePhase: "Absent" | "Active" | "Terminating";
  /** objectKey → spec hash of the children that exist. */
  children: ReadonlyMap<string, string | undefined>;
  secretExists: boolean;
  pods: readonly ObservedPod[];
  /** Whether the capacity ledger admitted this sandbox (see CapacityLedger). */
  admitted: boolean;
  /** Latest activity the notebook reported (epoch ms), if probed. */
  notebookActivityAt?: number;
  now: Date;
  defaults: SandboxDefaults;
}

export interface SandboxEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** What reconcile should do, in order. */
export interface SandboxPlan {
  /** JSON merge patch for the Sandbox's metadata (finalizer, labels, owner reference). */
  metadataPatch?: Record<string, unknown>;
  /** The sandbox's time is up: delete the Sandbox (its finalizer then removes the rest). */
  deleteSandbox?: { reason: string; message: string };
  /** Delete this namespace (the sandbox is being deleted). */
  deleteNamespace?: string;
  /**
   * This terminating namespace has no running pod left: touch it, so the namespace
   * controller removes the rest now instead of at its own recheck (half the longest pod
   * grace period after its first pass: 31 s with the archive container's 60 s).
   */
  nudgeNamespace?: string;
  /** The namespace is gone: let the Sandbox go. */
  removeFinalizer?: boolean;
  /** Create the token Secret in this namespace (only when absent). */
  createSecretIn?: string;
  /** Write the owner's archive URLs into this namespace (an owned sandbox, archives on). */
  archiveSecretIn?: string;
  /** Objects to server-side apply, in order. */
  apply: KubeObject[];
  /** The new status, only when it differs from the current one. */
  status?: SandboxStatus;
  events: SandboxEvent[];
  requeueAfterMs?: number;
}

const TERMINATING_RECHECK_MS = 2_000;

/** A pod that runs no more (the namespace controller does not wait for these either). */
function isTerminal(pod: ObservedPod): boolean {
  return pod.phase === "Succeeded" || pod.phase === "Failed";
}

function toMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function refOf(sandbox: Sandbox): SandboxRef {
  return {
    namespace: sandbox.metadata.namespace ?? "",
    name: sandbox.metadata.name,
    workshop: sandbox.spec.workshop,
  };
}

/** The namespace this sandbox's workloads live in. */
export function namespaceFor(sandbox: Sandbox): string {
  return (
    sandbox.status?.namespace ??
    sandboxNamespaceName({
      namespace: sandbox.metadata.namespace ?? "",
      name: sandbox.metadata.name,
      uid: sandbox.metadata.uid ?? "",
    })
  );
}

/** When the sandbox's lifetime started: first seen with an owner. */
export function claimedAtOf(sandbox: Sandbox, now: Date): string | undefined {
  if (sandbox.status?.claimedAt) return sandbox.status.claimedAt;
  if (!sandbox.spec.owner) return undefined;
  // Created with an owner: its life started at creation. Claimed from the warm pool: now.
  if (sandbox.metadata.labels?.[LABELS.pool] !== POOL_WARM && sandbox.metadata.creationTimestamp) {
    return sandbox.metadata.creationTimestamp;
  }
  return now.toISOString();
}

/** Pure: decides everything one reconcile of a sandbox does. */
export function planSandbox(obs: SandboxObservation): SandboxPlan {
  const { sandbox, now } = obs;
  const plan: SandboxPlan = { apply: [], events: [] };
  const namespace = namespaceFor(sandbox);
  const previous = sandbox.status ?? {};
  const finalizers = sandbox.metadata.finalizers ?? [];

  if (sandbox.metadata.deletionTimestamp) {
    if (!finalizers.includes(SANDBOX_FINALIZER)) return plan;
    if (obs.namespacePhase === "Absent") {
      plan.removeFinalizer = true;
      return plan;
    }
    if (obs.namespacePhase === "Active") plan.deleteNamespace = namespace;
    if (obs.namespacePhase === "Terminating" && obs.pods.every(isTerminal)) {
      plan.nudgeNamespace = namespace;
    }
    plan.status = changed(previous, {
      ...previous,
      phase: "Expiring",
      message: `Deleting namespace ${namespace}`,
    });
    plan.requeueAfterMs = TERMINATING_RECHECK_MS;
    return plan;
  }

  plan.metadataPatch = metadataPatch(obs);

  const workshop = obs.workshop.found ? obs.workshop.workshop : undefined;
  const claimedAt = claimedAtOf(sandbox, now);
  const lastActivityAt = latestActivity(sandbox, obs.notebookActivityAt);
  const lifetimes = workshop ? workshopLifetimes(workshop.spec) : undefined;
  const expiry = lifetimes
    ? effectiveExpiry({
        requestedExpiresAt: toMs(sandbox.spec.expiresAt),
        claimedAt: toMs(claimedAt),
        lastActivityAt,
        ...lifetimes,
      })
    : sandbox.spec.expiresAt
      ? { at: toMs(sandbox.spec.expiresAt) ?? now.getTime(), reason: "Requested" as const }
      : undefined;

  if (expiry && expiry.at <= now.getTime()) {
    const message =
      expiry.reason === "Idle"
        ? "No notebook activity for the workshop's idleTimeout"
        : expiry.reason === "MaxLifetime"
          ? "Reached the workshop's maxLifetime"
          : "Reached its expiry time";
    plan.deleteSandbox = { reason: expiry.reason === "Idle" ? "IdleTimeout" : "Expired", message };
    plan.events.push({ type: "Normal", reason: plan.deleteSandbox.reason, message });
    return plan;
  }
  if (expiry) plan.requeueAfterMs = expiry.at - now.getTime();

  const base: SandboxStatus = { ...previous, observedGeneration: sandbox.metadata.generation };
  if (claimedAt) base.claimedAt = claimedAt;
  if (expiry) base.expiresAt = new Date(expiry.at).toISOString();
  else delete base.expiresAt;
  if (lastActivityAt !== undefined) base.lastActivityAt = new Date(lastActivityAt).toISOString();

  if (!obs.workshop.found) {
    const reason = obs.workshop.reason === "NotFound" ? "WorkshopNotFound" : "InvalidSpec";
    const phase = obs.workshop.reason === "NotFound" ? "Pending" : "Failed";
    plan.status = changed(previous, notReadyStatus(base, phase, reason, obs.workshop.message, obs));
    pushTransitionEvent(plan, previous, "Warning", reason, obs.workshop.message);
    return plan;
  }

  if (!obs.admitted) {
    const max = obs.workshop.workshop.spec.maxSandboxes;
    const message = `Workshop ${sandbox.spec.workshop} is at capacity (maxSandboxes=${max}); delete a sandbox or raise maxSandboxes`;
    plan.status = changed(previous, notReadyStatus(base, "Failed", "OverCapacity", message, obs));
    pushTransitionEvent(plan, previous, "Warning", "OverCapacity", message);
    return plan;
  }

  base.namespace = namespace;
  if (obs.namespacePhase === "Terminating") {
    const message = `Namespace ${namespace} is terminating; it is recreated once gone`;
    plan.status = changed(
      previous,
      notReadyStatus(base, "Provisioning", "NamespaceTerminating", message, obs),
    );
    plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, TERMINATING_RECHECK_MS);
    return plan;
  }

  const ref = refOf(sandbox);
  const archive = obs.defaults.archive !== undefined && workshop!.spec.archiveRetentionDays > 0;
  const objects = [
    namespaceObject(ref, namespace),
    ...desiredObjects({
      ref,
      namespace,
      template: workshop!.spec.sandbox,
      defaults: obs.defaults,
      archive,
    }),
  ];
  plan.apply = objects.filter((o) => obs.children.get(objectKey(o)) !== specHashOf(o));
  if (!obs.secretExists) plan.createSecretIn = namespace;
  if (archive && sandbox.spec.owner) plan.archiveSecretIn = namespace;

  const conditions = deriveConditions(obs.pods, workshop!.spec.sandbox.workers);
  const limit = obs.defaults.crashLimit ?? DEFAULT_CRASH_LIMIT;
  const crashes = crashHistory(previous.crashes, obs.pods, now, limit);
  const gaveUp =
    previous.phase === "Failed" &&
    findCondition(previous.conditions, "Ready")?.reason === CRASHED_REASON;
  if (gaveUp || crashes.length >= limit.maxCrashes) {
    // Failed stays Failed (its pods are kept, so the notebook and its files can still be
    // downloaded) until the sandbox expires or is deleted.
    const message = gaveUp ? (previous.message ?? "") : crashMessage(crashes, limit);
    const failed = notReadyStatus(base, "Failed", CRASHED_REASON, message, obs);
    failed.endpoints = sandboxEndpoints(namespace, sandbox.metadata.name);
    if (crashes.length) failed.crashes = crashes;
    plan.status = changed(previous, failed);
    pushTransitionEvent(plan, previous, "Warning", CRASHED_REASON, message);
    return plan;
  }
  const ready = conditions.find((c) => c.type === "Ready")!;
  const status: SandboxStatus = {
    ...base,
    phase: ready.status === "True" ? "Ready" : "Provisioning",
    conditions: mergeConditions(previous.conditions, conditions, now, sandbox.metadata.generation),
    endpoints: sandboxEndpoints(namespace, sandbox.metadata.name),
    message: ready.message,
  };
  if (crashes.length) status.crashes = crashes;
  else delete status.crashes;
  if (ready.status === "True" && !status.readyAt) {
    status.readyAt = now.toISOString();
    plan.events.push({
      type: "Normal",
      reason: "Ready",
      message: "Scheduler, workers and notebook are ready",
    });
  } else if (ready.status !== "True") {
    const wasReason = findCondition(previous.conditions, "Ready")?.reason;
    if (BAD_REASONS.has(ready.reason) && wasReason !== ready.reason) {
      plan.events.push({ type: "Warning", reason: ready.reason, message: ready.message });
    }
  }
  plan.status = changed(previous, status);
  return plan;
}

const BAD_REASONS = new Set([
  "ImagePullBackOff",
  "InvalidImageName",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "Unschedulable",
]);

function notReadyStatus(
  base: SandboxStatus,
  phase: "Pending" | "Provisioning" | "Failed",
  reason: string,
  message: string,
  obs: SandboxObservation,
): SandboxStatus {
  const conditions = mergeConditions(
    obs.sandbox.status?.conditions,
    [{ type: "Ready", status: "False", reason, message }],
    obs.now,
    obs.sandbox.metadata.generation,
  );
  return { ...base, phase, conditions, message };
}

function pushTransitionEvent(
  plan: SandboxPlan,
  previous: SandboxStatus,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
) {
  if (findCondition(previous.conditions, "Ready")?.reason !== reason) {
    plan.events.push({ type, reason, message });
  }
}

function latestActivity(sandbox: Sandbox, notebookActivityAt: number | undefined) {
  const candidates = [
    toMs(sandbox.metadata.annotations?.[ANNOTATIONS.lastActivity]),
    toMs(sandbox.status?.lastActivityAt),
    notebookActivityAt,
  ].filter((v): v is number => v !== undefined);
  return candidates.length ? Math.max(...candidates) : undefined;
}

function metadataPatch(obs: SandboxObservation): Record<string, unknown> | undefined {
  const { sandbox } = obs;
  const patch: Record<string, unknown> = {};
  const finalizers = sandbox.metadata.finalizers ?? [];
  if (!finalizers.includes(SANDBOX_FINALIZER))
    patch.finalizers = [...finalizers, SANDBOX_FINALIZER];
  if (sandbox.metadata.labels?.[LABELS.workshop] !== sandbox.spec.workshop) {
    patch.labels = { [LABELS.workshop]: sandbox.spec.workshop };
  }
  if (obs.workshop.found) {
    const w = obs.workshop.workshop;
    const refs =
      (sandbox.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences ?? [];
    if (w.metadata.uid && !refs.some((r) => r.uid === w.metadata.uid)) {
      // Deleting a Workshop deletes its sandboxes (each through its finalizer).
      patch.ownerReferences = [
        ...refs,
        {
          apiVersion: API_VERSION,
          kind: WORKSHOP_KIND,
          name: w.metadata.name,
          uid: w.metadata.uid,
          blockOwnerDeletion: false,
        },
      ];
    }
  }
  return Object.keys(patch).length ? { metadata: patch } : undefined;
}

/** Returns next when it differs from previous (so unchanged status is not written). */
function changed(previous: SandboxStatus, next: SandboxStatus): SandboxStatus | undefined {
  return stableStringify(previous) === stableStringify(next) ? undefined : next;
}
