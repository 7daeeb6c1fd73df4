import { describe, expect, it } from "vitest";
import { findCondition } from "../api/conditions.js";
import type { Sandbox } from "../api/index.js";
import { NOW, observation, pod, readyPods, sandbox } from "./core.test-fixtures.js";
import { crashHistory } from "./crash-history.js";
import { CRASHED_REASON, planSandbox } from "./sandbox-plan.js";

const LIMIT = { maxCrashes: 5, windowMs: 600_000 };
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

/** A worker pod whose container last ended `secondsAgo` (one crash each reconcile sees). */
const crashedWorker = (secondsAgo: number, reason = "Error", exitCode = 1) =>
  pod("worker", {
    name: "worker-a",
    ready: false,
    terminations: [{ container: "worker", finishedAt: ago(secondsAgo), reason, exitCode }],
  });

/** Reconciles once per observed crash, carrying the status forward like the API does. */
function reconcileThrough(crashesSecondsAgo: number[], reason = "Error", exitCode = 1) {
  let current: Sandbox = sandbox();
  let plan = planSandbox(observation({ sandbox: current }));
  for (const s of crashesSecondsAgo) {
    current = { ...current, status: plan.status ?? current.status };
    plan = planSandbox(
      observation({
        sandbox: current,
        namespacePhase: "Active",
        secretExists: true,
        pods: [...readyPods(2), crashedWorker(s, reason, exitCode)],
      }),
    );
  }
  return { plan, status: plan.status ?? current.status };
}

describe("crash window (a sandbox gives up only after repeated crashes)", () => {
  it("stays Provisioning below the limit and turns Failed at it, saying why in plain words", () => {
    const below = reconcileThrough([200, 150, 100, 50]);
    expect(below.status?.phase).toBe("Provisioning");
    expect(below.status?.crashes).toHaveLength(4);

    const at = reconcileThrough([250, 200, 150, 100, 50], "OOMKilled", 137);
    expect(at.status?.phase).toBe("Failed");
    expect(findCondition(at.status?.conditions, "Ready")?.reason).toBe(CRASHED_REASON);
    expect(at.status?.message).toBe(
      "The worker crashed 5 times within 10 minutes; it ran out of memory (OOMKilled). " +
        "Your notebook and its files are kept: download your work, then start a new sandbox.",
    );
    expect(at.plan.events).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: CRASHED_REASON }),
    );
    // The pods stay: endpoints are kept so the notebook can still be reached.
    expect(at.status?.endpoints?.notebook).toBeTruthy();
  });

  it("forgets crashes older than the window (five crashes spread over an hour are no verdict)", () => {
    const spread = reconcileThrough([3000, 2400, 1800, 1200, 50]);
    expect(spread.status?.phase).toBe("Provisioning");
    expect(spread.status?.crashes?.map((c) => c.at)).toEqual([ago(50)]);
  });

  it("counts one termination once, however often it is observed", () => {
    const same = reconcileThrough([60, 60, 60, 60, 60, 60]);
    expect(same.status?.phase).toBe("Provisioning");
    expect(same.status?.crashes).toHaveLength(1);
  });

  it("stays Failed once given up, even when the pods come back ready", () => {
    const failed = reconcileThrough([250, 200, 150, 100, 50]).status!;
    const later = planSandbox(
      observation({
        sandbox: { ...sandbox(), status: failed },
        namespacePhase: "Active",
        secretExists: true,
        pods: readyPods(3),
        now: new Date(NOW.getTime() + 3_600_000),
      }),
    );
    expect((later.status ?? failed).phase).toBe("Failed");
  });

  it("does not count a container that completed cleanly", () => {
    const clean = crashHistory(
      [],
      [
        pod("worker", {
          terminations: [{ container: "w", finishedAt: ago(5), reason: "Completed", exitCode: 0 }],
        }),
      ],
      NOW,
      LIMIT,
    );
    expect(clean).toEqual([]);
  });
});
