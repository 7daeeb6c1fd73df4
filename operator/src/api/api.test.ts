import { describe, expect, it } from "vitest";
import {
  claimPatch,
  effectiveExpiry,
  formatDuration,
  isClaimable,
  newSandbox,
  parseCpuMillis,
  parseDuration,
  parseMemoryBytes,
  parseSandbox,
  type Sandbox,
  sandboxPhaseSummary,
  sandboxSpecSchema,
  workshopSpecSchema,
} from "./index.js";

const readySandbox: Sandbox = {
  apiVersion: "launchbay.dev/v1alpha1",
  kind: "Sandbox",
  metadata: { name: "a", namespace: "ws", resourceVersion: "42" },
  spec: { workshop: "pydata" },
  status: {
    phase: "Ready",
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "AllComponentsReady",
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
      {
        type: "SchedulerReady",
        status: "True",
        reason: "PodReady",
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ],
  },
};

describe("durations and quantities", () => {
  it("parses Go-style durations and rejects other text", () => {
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("45s")).toBe(45_000);
    expect(parseDuration("2 hours")).toBeUndefined();
    expect(parseDuration("")).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe("1h30m");
  });

  it("parses CPU and memory quantities", () => {
    expect(parseCpuMillis("500m")).toBe(500);
    expect(parseCpuMillis("1.5")).toBe(1500);
    expect(parseMemoryBytes("1536Mi")).toBe(1536 * 1024 * 1024);
    expect(parseMemoryBytes("2GB")).toBeUndefined();
  });
});

describe("workshop spec", () => {
  it("fills the documented defaults", () => {
    const spec = workshopSpecSchema.parse({ title: "Parallel Python" });
    expect(spec.sandbox.workers).toBe(3);
    expect(spec.lifetime).toBe("2h");
    expect(spec.sandbox.resources.worker).toEqual({ cpu: "1", memory: "2Gi" });
    expect(spec.access.mode).toBe("open");
  });

  it("says which field is wrong", () => {
    const result = workshopSpecSchema.safeParse({
      title: "x",
      lifetime: "3h",
      maxLifetime: "1h",
      access: { mode: "accessCode" },
    });
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(messages).toContain("maxLifetime: maxLifetime (1h) must be at least lifetime (3h)");
    expect(messages.some((m) => m.startsWith("access.secretName"))).toBe(true);
  });

  it("rejects reserved environment variable names", () => {
    const result = workshopSpecSchema.safeParse({
      title: "x",
      sandbox: { env: [{ name: "LAUNCHBAY_TOKEN", value: "leak" }] },
    });
    expect(result.success).toBe(false);
  });
});

describe("sandbox helpers", () => {
  it("accepts expiry times with an offset", () => {
    expect(
      sandboxSpecSchema.safeParse({ workshop: "w", expiresAt: "2026-01-01T10:00:00+01:00" })
        .success,
    ).toBe(true);
  });

  it("summarises a ready sandbox and one still starting", () => {
    expect(sandboxPhaseSummary(readySandbox)).toMatchObject({ phase: "Ready", ready: true });
    const pending = { ...readySandbox, status: undefined };
    expect(sandboxPhaseSummary(pending)).toMatchObject({ phase: "Pending", ready: false });
  });

  it("treats only unowned Ready sandboxes as claimable", () => {
    expect(isClaimable(readySandbox)).toBe(true);
    expect(isClaimable({ ...readySandbox, spec: { workshop: "pydata", owner: "u1" } })).toBe(false);
  });

  it("builds a claim patch that carries the resourceVersion", () => {
    const patch = claimPatch(readySandbox, "u1", new Date("2026-01-01T02:00:00Z"));
    expect(patch).toEqual({
      metadata: { resourceVersion: "42" },
      spec: { owner: "u1", expiresAt: "2026-01-01T02:00:00.000Z" },
    });
  });

  it("builds sandboxes the schema accepts", () => {
    const object = newSandbox({ name: "s1", namespace: "ws", workshop: "pydata", owner: "u" });
    expect(parseSandbox({ ...object, metadata: { ...object.metadata, name: "s1" } }).ok).toBe(true);
  });
});

describe("effective expiry", () => {
  const base = { lifetimeMs: 7_200_000, maxLifetimeMs: 14_400_000 };

  it("never expires an unclaimed warm sandbox without an expiresAt", () => {
    expect(effectiveExpiry(base)).toBeUndefined();
  });

  it("defaults to claim time plus lifetime", () => {
    expect(effectiveExpiry({ ...base, claimedAt: 1000 })).toEqual({
      at: 7_201_000,
      reason: "Lifetime",
    });
  });

  it("caps extensions at maxLifetime", () => {
    expect(effectiveExpiry({ ...base, claimedAt: 0, requestedExpiresAt: 99_000_000 })).toEqual({
      at: 14_400_000,
      reason: "MaxLifetime",
    });
  });

  it("expires an idle sandbox idleTimeout after its last activity", () => {
    expect(
      effectiveExpiry({ ...base, claimedAt: 0, idleTimeoutMs: 600_000, lastActivityAt: 60_000 }),
    ).toEqual({ at: 660_000, reason: "Idle" });
  });
});
