import { describe, expect, it } from "vitest";
import { trustsPeer } from "./trusted-peer.js";

describe("trustsPeer", () => {
  it("believes forwarded headers only from a configured proxy", () => {
    expect(trustsPeer(false, "10.0.0.1")).toBe(false);
    expect(trustsPeer(1, "203.0.113.9")).toBe(true);
    expect(trustsPeer(["10.0.0.0/8", "127.0.0.1"], "10.1.2.3")).toBe(true);
    expect(trustsPeer(["10.0.0.0/8", "127.0.0.1"], "::ffff:127.0.0.1")).toBe(true);
    // The attack: a client that is not a listed proxy forges X-Forwarded-Host.
    expect(trustsPeer(["10.0.0.0/8", "127.0.0.1"], "203.0.113.9")).toBe(false);
    expect(trustsPeer(["fd00::/8"], "fd00::1")).toBe(true);
    expect(trustsPeer(["fd00::/8"], "::1")).toBe(false);
  });
});
