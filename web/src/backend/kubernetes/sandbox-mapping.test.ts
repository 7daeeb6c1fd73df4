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

  it("reads the launch time every replica agrees on from the Sandbox itself", () => {
    const ready = { phase: "Ready" as const, readyAt: "2026-03-01T10:00:40Z" };
    // Created for an attendee: request (requested-at, before any queueing) → Ready.
    const created = sandboxStateOf(
      {
        ...base,
        metadata: {
          ...base.metadata,
          annotations: { "launchbay.dev/requested-at": String(Date.parse("2026-03-01T09:59:50Z")) },
        },
        status: { ...ready, claimedAt: "2026-03-01T10:00:00Z" },
      },
      3,
    );
    expect(created.launchMs).toBe(50_000);
    // Without the annotation (created by hand): creation → Ready.
    expect(sandboxStateOf({ ...base, status: ready }, 3).launchMs).toBe(40_000);
    // A claimed warm sandbox: what the claim took; one claimed outside the launcher: unknown.
    const warmMeta = { ...base.metadata, labels: { "launchbay.dev/pool": "warm" } };
    const claimed = sandboxStateOf(
      {
        ...base,
        metadata: { ...warmMeta, annotations: { "launchbay.dev/claim-ms": "35" } },
        status: ready,
      },
      3,
    );
    expect(claimed.launchMs).toBe(35);
    expect(
      sandboxStateOf({ ...base, metadata: warmMeta, status: ready }, 3).launchMs,
    ).toBeUndefined();
    // Not Ready yet, or nobody's: no launch time.
    expect(sandboxStateOf(base, 3).launchMs).toBeUndefined();
    expect(
      sandboxStateOf({ ...base, spec: { workshop: "w" }, status: ready }, 3).launchMs,
    ).toBeUndefined();
  });
});
