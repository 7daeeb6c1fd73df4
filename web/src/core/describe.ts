import type { SandboxCondition, SandboxPhase, SandboxState } from "../backend/backend.js";

/** A launch the launcher has accepted but not yet handed to the backend. */
export interface QueuedLaunch {
  id: string;
  owner: string;
  requestedAt: number;
  /** 1-based place in the queue. */
  position: number;
  queueLength: number;
}

export type ViewPhase = SandboxPhase | "Queued";
export type StepStatus = "waiting" | "active" | "done" | "failed";

export interface ProgressStep {
  key: "queue" | "scheduler" | "workers" | "notebook";
  text: string;
  status: StepStatus;
}

/** Everything the progress view and the API show about one sandbox, in plain words. */
export interface SandboxView {
  id: string;
  phase: ViewPhase;
  /** One sentence for the top of the progress view. */
  headline: string;
  message: string;
  steps: ProgressStep[];
  ready: boolean;
  failed: boolean;
  /** True once starting has taken longer than usual. */
  slow: boolean;
  position?: number;
  queueLength?: number;
  /** True while the attendee waits in line for a seat of a full workshop. */
  waiting?: boolean;
  /** Estimated milliseconds until the sandbox starts (in the waiting line). */
  estimatedWaitMs?: number;
  requestedAt: number;
  readyAt?: number;
  expiresAt?: number;
  /** Milliseconds a launch usually takes; the page uses it for the slow-start notice. */
  typicalStartMs: number;
}

export interface DescribeContext {
  now: number;
  typicalStartMs: number;
}

function conditionTrue(conditions: SandboxCondition[], type: SandboxCondition["type"]): boolean {
  return conditions.some((c) => c.type === type && c.status === "True");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Steps of a sandbox that is starting, derived from its conditions and worker counts. */
export function startingSteps(state: SandboxState): ProgressStep[] {
  const failed = state.phase === "Failed";
  const schedulerDone = conditionTrue(state.conditions, "SchedulerReady");
  const workersDone =
    conditionTrue(state.conditions, "WorkersReady") ||
    (state.workers.desired > 0 && state.workers.ready >= state.workers.desired);
  const notebookDone = conditionTrue(state.conditions, "NotebookReady");
  const active = (done: boolean): StepStatus => (done ? "done" : failed ? "failed" : "active");
  const { ready, desired } = state.workers;
  return [
    {
      key: "scheduler",
      text: schedulerDone ? "Scheduler running" : "Starting the scheduler",
      status: active(schedulerDone),
    },
    {
      key: "workers",
      text: workersDone
        ? `${plural(desired, "worker")} ready`
        : `Starting ${plural(desired, "worker")} (${ready}/${desired} ready)`,
      status: active(workersDone),
    },
    {
      key: "notebook",
      text: notebookDone ? "Notebook running" : "Starting the notebook",
      status: active(notebookDone),
    },
  ];
}

/** The headline for a sandbox in a backend phase. */
export function headlineFor(state: SandboxState): string {
  switch (state.phase) {
    case "Pending":
      return "Request received: reserving your cluster";
    case "Provisioning": {
      const steps = startingSteps(state);
      const current = steps.find((s) => s.status !== "done");
      return current ? current.text : "Finishing up";
    }
    case "Ready":
      return "Ready: opening your notebook";
    case "Expiring":
      return "This sandbox has expired and is being removed";
    case "Failed":
      // A sandbox that was running and then crashed too often did start.
      return state.readyAt === undefined
        ? "Your sandbox could not be started"
        : "Your sandbox stopped working";
  }
}

/** Describes a sandbox the backend knows about. */
export function describeSandbox(state: SandboxState, ctx: DescribeContext): SandboxView {
  const ready = state.phase === "Ready";
  const failed = state.phase === "Failed";
  const starting = state.phase === "Pending" || state.phase === "Provisioning";
  return {
    id: state.id,
    phase: state.phase,
    headline: headlineFor(state),
    message: state.message,
    steps:
      state.phase === "Pending"
        ? startingSteps(state).map((s) => ({ ...s, status: "waiting" as const }))
        : startingSteps(state),
    ready,
    failed,
    slow: starting && ctx.now - state.createdAt > ctx.typicalStartMs,
    requestedAt: state.createdAt,
    readyAt: state.readyAt,
    expiresAt: state.expiresAt,
    typicalStartMs: ctx.typicalStartMs,
  };
}

/** Describes a launch that is still waiting in the launcher's queue. */
export function describeQueued(
  launch: QueuedLaunch,
  workersPerSandbox: number,
  ctx: DescribeContext,
): SandboxView {
  const ahead = launch.position - 1;
  return {
    id: launch.id,
    phase: "Queued",
    headline:
      ahead === 0
        ? "You are next in line"
        : `Waiting in line: ${plural(ahead, "attendee")} ahead of you`,
    message: `Position ${launch.position} of ${launch.queueLength}`,
    steps: [
      { key: "queue", text: `In line (position ${launch.position})`, status: "active" },
      { key: "scheduler", text: "Start the scheduler", status: "waiting" },
      {
        key: "workers",
        text: `Start ${plural(workersPerSandbox, "worker")}`,
        status: "waiting",
      },
      { key: "notebook", text: "Start the notebook", status: "waiting" },
    ],
    ready: false,
    failed: false,
    slow: ctx.now - launch.requestedAt > ctx.typicalStartMs,
    position: launch.position,
    queueLength: launch.queueLength,
    requestedAt: launch.requestedAt,
    typicalStartMs: ctx.typicalStartMs,
  };
}

/** "1h 05m", "4m 09s", "12s": the countdown text. */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}
