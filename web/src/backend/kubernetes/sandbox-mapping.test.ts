import type { Sandbox } from "@launchbay/operator/api";
import { describe, expect, it } from "vitest";
import { NEVER } from "../backend.js";
import { sandboxStateOf } from "./sandbox-mapping.js";

const base: Sandbox = {
  apiVersion: "launchbay.dev/v1alpha1",
  kind: "Sandbox",
  metadata: {
    name: "sb-a",
    namespace: "ws",
    creationTimestamp: "2026-03-01T10:00:00Z",
    resourceVersion: "7",
  },
  spec: { workshop: "w", owner: "alice", expiresAt: "2026-03-01T12:00:00Z" },
};

describe("Sandbox → launcher state", () => {
  it("reads worker counts from the WorkersReady condition", () => {
    const state = sandboxStateOf(
      {
        ...base,
        status: {
          phase: "Provisioning",
          message: "workers starting (2 of 3 ready)",
          conditions: [
            {
              type: "SchedulerReady",
              status: "True",
              reason: "PodsReady",
              message: "scheduler ready",
              lastTransitionTime: "2026-03-01T10:00:01Z",
            },
            {
              type: "WorkersReady",
              status: "False",
              reason: "PodPending",
              message: "workers starting (2 of 3 ready)",
              lastTransitionTime: "2026-03-01T10:00:01Z",
            },
          ],
        },
      },
      3,
    );
    expect(state).toMatchObject({
      id: "sb-a",
      owner: "alice",
      phase: "Provisioning",
      workers: { ready: 2, desired: 3 },
      warm: false,
    });
    expect(state.expiresAt).toBe(Date.parse("2026-03-01T12:00:00Z"));
    expect(state.conditions.map((c) => c.type)).toEqual(["SchedulerReady", "WorkersReady"]);
  });

  it("treats an ownerless sandbox as warm and never expiring, and a deleting one as Expiring", () => {
    const warm = sandboxStateOf({ ...base, spec: { workshop: "w" } }, 3);
    expect(warm).toMatchObject({ owner: "", warm: true, expiresAt: NEVER, phase: "Pending" });
    const going = sandboxStateOf(
      { ...base, metadata: { ...base.metadata, deletionTimestamp: "2026-03-01T11:00:00Z" } },
      3,
    );
    expect(going.phase).toBe("Expiring");
  });

  it("starts a claimed sandbox's life at its claim time and prefers the operator's effective expiry", () => {
    const state = sandboxStateOf(
      {
        ...base,
        status: {
          phase: "Ready",
          claimedAt: "2026-03-01T10:30:00Z",
          readyAt: "2026-03-01T09:00:00Z",
          expiresAt: "2026-03-01T11:45:00Z",
        },
      },
      3,
    );
    expect(state.createdAt).toBe(Date.parse("2026-03-01T10:30:00Z"));
    expect(state.expiresAt).toBe(Date.parse("2026-03-01T11:45:00Z"));
    expect(state.readyAt).toBe(Date.parse("2026-03-01T09:00:00Z"));
  });
});
