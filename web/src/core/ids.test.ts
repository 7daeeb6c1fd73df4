import { describe, expect, it } from "vitest";
import { newSandboxId, SANDBOX_ID_PATTERN } from "./ids.js";

describe("sandbox ids", () => {
  it("are random, URL-safe Kubernetes names", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSandboxId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^sb-[a-z2-7]{20}$/);
      expect(SANDBOX_ID_PATTERN.test(id)).toBe(true);
    }
  });
});
