import { type Sandbox, sandboxPhaseSummary } from "@launchbay/operator/api";
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
  return {
    id: sandbox.metadata.name,
    owner,
    phase: summary.phase,
    conditions,
    message: summary.message,
    createdAt: created,
    readyAt: time(status.readyAt),
    expiresAt: time(summary.expiresAt) ?? NEVER,
    workers: { ready, desired },
    warm: owner === "",
  };
}
