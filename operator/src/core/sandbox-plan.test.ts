import { describe, expect, it } from "vitest";
import { findCondition } from "../api/conditions.js";
import { specHashOf } from "./desired-objects.js";
import { objectKey } from "./kube-object.js";
import { NOW, observation, pod, readyPods, sandbox, workshop } from "./core.test-fixtures.js";
import { planSandbox } from "./sandbox-plan.js";
import { CapacityLedger } from "./capacity-ledger.js";
import { warmPoolDeficit, workshopStatus } from "./workshop-plan.js";

describe("planSandbox", () => {
  it("adds the finalizer, workshop label and owner reference first", () => {
    const plan = planSandbox(observation({ sandbox: sandbox({ finalizers: [], labels: {} }) }));
    expect(plan.metadataPatch).toMatchObject({
      metadata: {
        finalizers: ["launchbay.dev/namespace"],
        labels: { "launchbay.dev/workshop": "pydata" },
        ownerReferences: [{ kind: "Workshop", name: "pydata", uid: "w-uid" }],
      },
    });
  });

  it("applies the namespace and every child, creates the secret, and reports Provisioning", () => {
    const plan = planSandbox(observation());
    expect(plan.apply[0]?.kind).toBe("Namespace");
    expect(plan.apply.map((o) => o.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ResourceQuota",
      "LimitRange",
      ...Array(5).fill("NetworkPolicy"),
      ...Array(3).fill("Service"),
      ...Array(3).fill("Deployment"),
    ]);
    expect(plan.createSecretIn).toMatch(/^sbx-alice-/);
    expect(plan.status?.phase).toBe("Provisioning");
    expect(plan.status?.endpoints?.scheduler).toMatch(
      /^ws:\/\/scheduler\.sbx-alice-[0-9a-f]{8}\.svc:8786$/,
    );
  });

  it("is idempotent: a second pass over what the first created applies nothing and keeps one Ready condition", () => {
    const first = planSandbox(observation({ pods: readyPods() }));
    const children = new Map(first.apply.map((o) => [objectKey(o), specHashOf(o)]));
    const s = { ...sandbox(), status: first.status };
    const second = planSandbox(
      observation({
        sandbox: s,
        children,
        secretExists: true,
        namespacePhase: "Active",
        pods: readyPods(),
        now: new Date(NOW.getTime() + 5000),
      }),
    );
    expect(second.apply).toEqual([]);
    expect(second.createSecretIn).toBeUndefined();
    expect(second.status).toBeUndefined();
    expect(first.status?.conditions?.filter((c) => c.type === "Ready")).toHaveLength(1);
    expect(first.status?.readyAt).toBe(NOW.toISOString());
    expect(first.events.map((e) => e.reason)).toContain("Ready");
  });

  it("re-applies a child deleted by hand", () => {
    const first = planSandbox(observation());
    const children = new Map(first.apply.map((o) => [objectKey(o), specHashOf(o)]));
    const deleted = [...children.keys()].find(
      (k) => k.startsWith("Deployment/") && k.endsWith("/workers"),
    )!;
    children.delete(deleted);
    const plan = planSandbox(
      observation({ children, secretExists: true, namespacePhase: "Active" }),
    );
    expect(plan.apply.map(objectKey)).toEqual([deleted]);
  });

  it("surfaces ImagePullBackOff, CrashLoopBackOff and Unschedulable in the message", () => {
    const pulling = planSandbox(
      observation({
        pods: [
          pod("scheduler"),
          pod("notebook", {
            ready: false,
            phase: "Pending",
            waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nb:9"' },
          }),
          ...readyPods(3).filter((p) => p.component === "worker"),
        ],
      }),
    );
    expect(pulling.status?.message).toContain(
      'notebook ImagePullBackOff: Back-off pulling image "nb:9"',
    );
    expect(findCondition(pulling.status?.conditions, "NotebookReady")?.reason).toBe(
      "ImagePullBackOff",
    );
    expect(pulling.events).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "ImagePullBackOff" }),
    );

    const crashing = planSandbox(
      observation({
        pods: [
          pod("scheduler", {
            ready: false,
            waiting: { reason: "CrashLoopBackOff", message: "back-off 10s" },
          }),
        ],
      }),
    );
    expect(findCondition(crashing.status?.conditions, "Ready")?.reason).toBe("CrashLoopBackOff");

    const unschedulable = planSandbox(
      observation({
        pods: [
          pod("worker", {
            ready: false,
            phase: "Pending",
            unschedulable: { reason: "Unschedulable", message: "0/2 nodes: Insufficient cpu" },
          }),
        ],
      }),
    );
    expect(unschedulable.status?.message).toContain(
      "workers cannot be scheduled: 0/2 nodes: Insufficient cpu",
    );
  });

  it("deletes the sandbox once now reaches expiresAt and requeues for exactly that time before", () => {
    const expiresAt = new Date(NOW.getTime() + 30_000).toISOString();
    const before = planSandbox(observation({ sandbox: sandbox({}, { expiresAt }) }));
    expect(before.requeueAfterMs).toBe(30_000);
    expect(before.deleteSandbox).toBeUndefined();
    const at = planSandbox(
      observation({ sandbox: sandbox({}, { expiresAt }), now: new Date(expiresAt) }),
    );
    expect(at.deleteSandbox?.reason).toBe("Expired");
    expect(at.apply).toEqual([]);
  });

  it("caps an extension at maxLifetime from the claim", () => {
    const s = sandbox(
      { creationTimestamp: "2026-03-01T06:00:00Z" },
      { expiresAt: "2026-03-02T00:00:00Z" },
    );
    const plan = planSandbox(
      observation({
        sandbox: s,
        workshop: { found: true, workshop: workshop({ maxLifetime: "4h" }) },
      }),
    );
    expect(plan.deleteSandbox?.message).toBe("Reached the workshop's maxLifetime");
  });

  it("expires a sandbox idle for idleTimeout", () => {
    const s = sandbox({ creationTimestamp: "2026-03-01T09:00:00Z" });
    const w = { found: true as const, workshop: workshop({ idleTimeout: "30m" }) };
    const idle = planSandbox(
      observation({
        sandbox: s,
        workshop: w,
        notebookActivityAt: Date.parse("2026-03-01T09:20:00Z"),
      }),
    );
    expect(idle.deleteSandbox?.reason).toBe("IdleTimeout");
    const active = planSandbox(
      observation({
        sandbox: s,
        workshop: w,
        notebookActivityAt: Date.parse("2026-03-01T09:50:00Z"),
      }),
    );
    expect(active.deleteSandbox).toBeUndefined();
    expect(active.requeueAfterMs).toBe(20 * 60_000);
  });

  it("deletes the namespace of a deleted sandbox and lets it go once the namespace is gone", () => {
    const deleting = sandbox({ deletionTimestamp: NOW.toISOString() });
    const active = planSandbox(observation({ sandbox: deleting, namespacePhase: "Active" }));
    expect(active.deleteNamespace).toMatch(/^sbx-alice-/);
    expect(active.removeFinalizer).toBeUndefined();
    expect(active.status?.phase).toBe("Expiring");
    const gone = planSandbox(observation({ sandbox: deleting, namespacePhase: "Absent" }));
    expect(gone.removeFinalizer).toBe(true);
  });

  it("touches a terminating namespace once its last pod has stopped, not before", () => {
    const deleting = sandbox({ deletionTimestamp: NOW.toISOString() });
    const stopping = planSandbox(
      observation({
        sandbox: deleting,
        namespacePhase: "Terminating",
        pods: [pod("notebook", { deleting: true }), pod("worker", { phase: "Succeeded" })],
      }),
    );
    expect(stopping.nudgeNamespace).toBeUndefined();
    expect(stopping.deleteNamespace).toBeUndefined();
    const stopped = planSandbox(
      observation({
        sandbox: deleting,
        namespacePhase: "Terminating",
        pods: [pod("worker", { phase: "Failed" })],
      }),
    );
    expect(stopped.nudgeNamespace).toMatch(/^sbx-alice-/);
    expect(stopped.removeFinalizer).toBeUndefined();
    expect(
      planSandbox(observation({ sandbox: deleting, namespacePhase: "Terminating", pods: [] }))
        .nudgeNamespace,
    ).toBe(stopped.nudgeNamespace);
    // An Active namespace is deleted, not touched.
    expect(
      planSandbox(observation({ sandbox: deleting, namespacePhase: "Active", pods: [] }))
        .nudgeNamespace,
    ).toBeUndefined();
  });

  it("fails a sandbox over capacity with a clear message and creates nothing", () => {
    const plan = planSandbox(
      observation({
        admitted: false,
        workshop: { found: true, workshop: workshop({ maxSandboxes: 2 }) },
      }),
    );
    expect(plan.status?.phase).toBe("Failed");
    expect(plan.status?.message).toContain("is at capacity (maxSandboxes=2)");
    expect(plan.apply).toEqual([]);
  });

  it("waits in Pending while its workshop does not exist", () => {
    const plan = planSandbox(
      observation({
        workshop: {
          found: false,
          reason: "NotFound",
          message: "Workshop pydata not found in events",
        },
      }),
    );
    expect(plan.status?.phase).toBe("Pending");
    expect(findCondition(plan.status?.conditions, "Ready")?.reason).toBe("WorkshopNotFound");
  });
});

describe("capacity and warm pool", () => {
  it("admits up to maxSandboxes and keeps rejecting the rest", () => {
    const ledger = new CapacityLedger();
    expect(ledger.admit("w", "a", 2)).toBe(true);
    expect(ledger.admit("w", "b", 2)).toBe(true);
    expect(ledger.admit("w", "c", 2)).toBe(false);
    expect(ledger.admit("w", "a", 2)).toBe(true);
    ledger.release("a");
    expect(ledger.admit("w", "c", 2)).toBe(false);
    expect(ledger.admit("w", "d", 2)).toBe(true);
  });

  it("creates warm sandboxes up to warmPool within capacity", () => {
    const claimed = sandbox();
    const warm = sandbox({ name: "w1" }, { owner: undefined });
    expect(
      warmPoolDeficit({ warmPool: 3, maxSandboxes: undefined, sandboxes: [claimed, warm] }),
    ).toBe(2);
    expect(warmPoolDeficit({ warmPool: 3, maxSandboxes: 3, sandboxes: [claimed, warm] })).toBe(1);
  });

  it("counts sandboxes by phase", () => {
    const ready = {
      ...sandbox({ name: "r" }, { owner: undefined }),
      status: { phase: "Ready" as const },
    };
    const status = workshopStatus(workshop({ warmPool: 1 }), [ready, sandbox()], NOW);
    expect(status.counts).toMatchObject({ Ready: 1, Pending: 1 });
    expect(status.warm).toBe(1);
    expect(status.claimed).toBe(1);
  });
});
