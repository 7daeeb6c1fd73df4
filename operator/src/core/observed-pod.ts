import { LABELS } from "../api/constants.js";

/** What the operator keeps of a pod: enough to say why a component is not ready. */
export interface ObservedPod {
  namespace: string;
  name: string;
  component: string | undefined;
  phase: string;
  ready: boolean;
  deleting: boolean;
  /** PodScheduled=False: reason (e.g. Unschedulable) and message. */
  unschedulable?: { reason: string; message: string };
  /** First waiting container state (ImagePullBackOff, CrashLoopBackOff, ...). */
  waiting?: { reason: string; message: string };
  /** Last termination of a restarting container. */
  terminated?: { reason: string; exitCode: number };
  restarts: number;
  /** Each container's last termination while the pod lived (a crash, if it restarted). */
  terminations: ContainerTermination[];
}

export interface ContainerTermination {
  container: string;
  /** RFC 3339; with the pod and container, identifies one crash. */
  finishedAt: string;
  reason: string;
  exitCode: number;
}

interface RawPod {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  status?: {
    phase?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name?: string;
      ready?: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string } };
      lastState?: { terminated?: { reason?: string; exitCode?: number; finishedAt?: string } };
    }[];
  };
}

/** Trims a pod from the API to an ObservedPod (the informer keeps only this). */
export function observePod(raw: RawPod): ObservedPod {
  const conditions = raw.status?.conditions ?? [];
  const statuses = raw.status?.containerStatuses ?? [];
  const scheduled = conditions.find((c) => c.type === "PodScheduled");
  const ready = conditions.find((c) => c.type === "Ready")?.status === "True";
  const pod: ObservedPod = {
    namespace: raw.metadata?.namespace ?? "",
    name: raw.metadata?.name ?? "",
    component: raw.metadata?.labels?.[LABELS.component],
    phase: raw.status?.phase ?? "Pending",
    ready,
    deleting: Boolean(raw.metadata?.deletionTimestamp),
    restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
    terminations: statuses.flatMap((s) => {
      const t = s.lastState?.terminated;
      if (!t?.finishedAt) return [];
      return [
        {
          container: s.name ?? "",
          finishedAt: t.finishedAt,
          reason: t.reason ?? "Error",
          exitCode: t.exitCode ?? 0,
        },
      ];
    }),
  };
  if (scheduled?.status === "False") {
    pod.unschedulable = {
      reason: scheduled.reason ?? "Unschedulable",
      message: scheduled.message ?? "",
    };
  }
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting;
  if (waiting?.reason) pod.waiting = { reason: waiting.reason, message: waiting.message ?? "" };
  const terminated = statuses.find((s) => s.lastState?.terminated)?.lastState?.terminated;
  if (terminated) {
    pod.terminated = {
      reason: terminated.reason ?? "Error",
      exitCode: terminated.exitCode ?? 0,
    };
  }
  return pod;
}
