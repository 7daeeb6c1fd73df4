import { describe, expect, it } from "vitest";
import { warmPoolDeficit as operatorDeficit } from "../core/workshop-plan.js";
import type { Sandbox } from "./index.js";
import { type PoolMember, warmPoolDeficit } from "./warm-pool.js";

const member = (unclaimed: boolean, ending = false): PoolMember => ({ unclaimed, ending });

function sandbox(
  name: string,
  owner: string | undefined,
  phase: string,
  deleting = false,
): Sandbox {
  return {
    apiVersion: "launchbay.dev/v1alpha1",
    kind: "Sandbox",
    metadata: {
      name,
      namespace: "w",
      ...(deleting ? { deletionTimestamp: "2026-11-25T00:00:00Z" } : {}),
    },
    spec: { workshop: "w", ...(owner ? { owner } : {}) },
    status: { phase },
  } as unknown as Sandbox;
}

describe("the warm-pool policy both backends use", () => {
  it("fills up to warmPool within maxSandboxes", () => {
    expect(
      warmPoolDeficit({ warmPool: 3, maxSandboxes: undefined, members: [member(false)] }),
    ).toBe(3);
    expect(
      warmPoolDeficit({ warmPool: 3, maxSandboxes: 3, members: [member(false), member(true)] }),
    ).toBe(1);
    expect(warmPoolDeficit({ warmPool: 3, maxSandboxes: 10, members: [], starting: 2 })).toBe(1);
    expect(warmPoolDeficit({ warmPool: 3, maxSandboxes: 2, members: [], starting: 2 })).toBe(0);
  });

  it("a failed warm sandbox keeps its slot (no restart loop); an ending one frees it", () => {
    // Failed is still unclaimed: not replaced until the organiser removes it.
    expect(warmPoolDeficit({ warmPool: 1, maxSandboxes: 5, members: [member(true)] })).toBe(0);
    expect(warmPoolDeficit({ warmPool: 1, maxSandboxes: 5, members: [member(true, true)] })).toBe(
      1,
    );
  });

  it("the operator's view of Sandboxes gives the same answers as the local keeper's", () => {
    const cases: { sandboxes: Sandbox[]; members: PoolMember[] }[] = [
      { sandboxes: [sandbox("a", undefined, "Failed")], members: [member(true)] },
      { sandboxes: [sandbox("a", undefined, "Failed", true)], members: [member(true, true)] },
      {
        sandboxes: [sandbox("a", "x", "Ready"), sandbox("b", undefined, "Ready")],
        members: [member(false), member(true)],
      },
      {
        sandboxes: [sandbox("a", "x", "Failed"), sandbox("b", undefined, "Pending")],
        members: [member(false), member(true)],
      },
    ];
    for (const { sandboxes, members } of cases) {
      for (const [warmPool, maxSandboxes] of [
        [1, undefined],
        [2, 2],
        [3, 10],
      ] as const) {
        expect(operatorDeficit({ warmPool, maxSandboxes, sandboxes })).toBe(
          warmPoolDeficit({ warmPool, maxSandboxes, members }),
        );
      }
    }
  });
});
