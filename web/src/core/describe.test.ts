import { describe, expect, it } from "vitest";
import type { SandboxState } from "../backend/backend.js";
import { describeQueued, describeSandbox, formatRemaining } from "./describe.js";

const base: SandboxState = {
  id: "sb-a",
  owner: "o",
  phase: "Provisioning",
  conditions: [],
  message: "",
  createdAt: 1000,
  expiresAt: 9_000_000,
  workers: { ready: 0, desired: 3 },
  warm: false,
};
const ctx = { now: 2000, typicalStartMs: 20_000 };

describe("plain-word progress", () => {
  it("says which step is running, counting ready workers", () => {
    const view = describeSandbox(
      {
        ...base,
        conditions: [{ type: "SchedulerReady", status: "True" }],
        workers: { ready: 2, desired: 3 },
      },
      ctx,
    );
    expect(view.headline).toBe("Starting 3 workers (2/3 ready)");
    expect(view.steps.map((s) => s.status)).toEqual(["done", "active", "active"]);
  });

  it("starts with the scheduler and ends with the notebook", () => {
    expect(describeSandbox(base, ctx).headline).toBe("Starting the scheduler");
    const almost = describeSandbox(
      {
        ...base,
        conditions: [
          { type: "SchedulerReady", status: "True" },
          { type: "WorkersReady", status: "True" },
        ],
        workers: { ready: 3, desired: 3 },
      },
      ctx,
    );
    expect(almost.headline).toBe("Starting the notebook");
    expect(almost.steps[1]!.text).toBe("3 workers ready");
  });

  it("uses the singular for one worker", () => {
    expect(
      describeSandbox(
        {
          ...base,
          conditions: [{ type: "SchedulerReady", status: "True" }],
          workers: { ready: 0, desired: 1 },
        },
        ctx,
      ).headline,
    ).toBe("Starting 1 worker (0/1 ready)");
  });

  it("flags a slow start only once it has taken longer than usual", () => {
    expect(describeSandbox(base, ctx).slow).toBe(false);
    expect(describeSandbox(base, { ...ctx, now: 30_000 }).slow).toBe(true);
    expect(describeSandbox({ ...base, phase: "Ready" }, { ...ctx, now: 30_000 }).slow).toBe(false);
  });

  it("reports failure with the backend's message and marks unfinished steps failed", () => {
    const view = describeSandbox({ ...base, phase: "Failed", message: "image pull failed" }, ctx);
    expect(view).toMatchObject({
      failed: true,
      ready: false,
      headline: "Your sandbox could not be started",
      message: "image pull failed",
    });
    expect(view.steps.every((s) => s.status === "failed")).toBe(true);
  });

  it("says a sandbox that had been running stopped working, rather than could not start", () => {
    const view = describeSandbox(
      { ...base, phase: "Failed", readyAt: 5_000, message: "The worker 2 stopped 5 times" },
      ctx,
    );
    expect(view).toMatchObject({ failed: true, headline: "Your sandbox stopped working" });
  });

  it("describes Pending, Ready and Expiring", () => {
    expect(
      describeSandbox({ ...base, phase: "Pending" }, ctx).steps.every(
        (s) => s.status === "waiting",
      ),
    ).toBe(true);
    expect(describeSandbox({ ...base, phase: "Ready" }, ctx)).toMatchObject({
      ready: true,
      headline: "Ready: opening your notebook",
    });
    expect(describeSandbox({ ...base, phase: "Expiring" }, ctx).headline).toContain("expired");
  });

  it("tells a queued attendee how many are ahead", () => {
    const first = describeQueued(
      { id: "q", owner: "o", requestedAt: 0, position: 1, queueLength: 4 },
      3,
      ctx,
    );
    expect(first.headline).toBe("You are next in line");
    const third = describeQueued(
      { id: "q", owner: "o", requestedAt: 0, position: 3, queueLength: 4 },
      3,
      ctx,
    );
    expect(third.headline).toBe("Waiting in line: 2 attendees ahead of you");
    expect(third.message).toBe("Position 3 of 4");
  });

  it("formats the countdown", () => {
    expect(formatRemaining(3_900_000)).toBe("1h 05m");
    expect(formatRemaining(249_000)).toBe("4m 09s");
    expect(formatRemaining(12_400)).toBe("12s");
    expect(formatRemaining(-5)).toBe("0s");
  });
});
