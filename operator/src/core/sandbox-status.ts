import type { Condition, ConditionStatus } from "../api/conditions.js";
import type { SandboxConditionType } from "../api/sandbox.js";
import type { ObservedPod } from "./observed-pod.js";

export interface ComponentCondition {
  type: SandboxConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Container waiting reasons that mean "this will not fix itself soon": surfaced first. */
const BAD_WAITING = new Set([
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

const COMPONENTS = [
  { type: "SchedulerReady", component: "scheduler", label: "scheduler" },
  { type: "WorkersReady", component: "worker", label: "workers" },
  { type: "NotebookReady", component: "notebook", label: "notebook" },
] as const;

/** One component's condition, from its pods and how many should be ready. */
export function componentCondition(
  type: SandboxConditionType,
  label: string,
  pods: readonly ObservedPod[],
  wanted: number,
): ComponentCondition {
  const live = pods.filter((p) => !p.deleting);
  const ready = live.filter((p) => p.ready).length;
  const counts = wanted === 1 ? "" : ` (${ready} of ${wanted} ready)`;
  if (ready >= wanted) {
    return { type, status: "True", reason: "PodsReady", message: `${label} ready${counts}` };
  }
  const notReady = live.filter((p) => !p.ready);
  const bad = notReady.find((p) => p.waiting && BAD_WAITING.has(p.waiting.reason));
  if (bad?.waiting) {
    const reason = bad.waiting.reason === "ErrImagePull" ? "ImagePullBackOff" : bad.waiting.reason;
    const detail = bad.waiting.message ? `: ${bad.waiting.message}` : "";
    return { type, status: "False", reason, message: `${label} ${reason}${detail}${counts}` };
  }
  const unschedulable = notReady.find((p) => p.unschedulable);
  if (unschedulable?.unschedulable) {
    const { reason, message } = unschedulable.unschedulable;
    return {
      type,
      status: "False",
      reason: reason || "Unschedulable",
      message: `${label} cannot be scheduled: ${message || reason}${counts}`,
    };
  }
  // Not created, pending or running-but-not-ready are one state ("Starting"): each
  // distinct message is a status write, and 500 sandboxes starting at once should not
  // cost thousands of writes for detail nobody acts on.
  return { type, status: "False", reason: "Starting", message: `${label} starting${counts}` };
}

/** The three component conditions plus Ready, derived from the sandbox's pods. */
export function deriveConditions(
  pods: readonly ObservedPod[],
  workers: number,
): ComponentCondition[] {
  const components = COMPONENTS.map(({ type, component, label }) =>
    componentCondition(
      type,
      label,
      pods.filter((p) => p.component === component),
      component === "worker" ? workers : 1,
    ),
  );
  const failing = components.filter((c) => c.status !== "True");
  const first = failing[0];
  const ready: ComponentCondition = first
    ? {
        type: "Ready",
        status: "False",
        reason: first.reason,
        message: failing.map((c) => c.message).join("; "),
      }
    : { type: "Ready", status: "True", reason: "AllComponentsReady", message: "Ready" };
  return [...components, ready];
}

/**
 * Merges freshly derived conditions into the previous ones, keeping lastTransitionTime
 * when the status did not change (so repeated reconciles do not churn the status).
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly { type: string; status: ConditionStatus; reason: string; message: string }[],
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime =
      old && old.status === c.status ? old.lastTransitionTime : now.toISOString();
    const condition: Condition = { ...c, lastTransitionTime };
    if (observedGeneration !== undefined) condition.observedGeneration = observedGeneration;
    return condition;
  });
}
