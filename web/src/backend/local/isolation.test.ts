import { describe, expect, it } from "vitest";
import { decideIsolation, isLoopbackHost, SHARED_USER_WARNING } from "./isolation.js";

describe("local isolation decision", () => {
  it("gives each sandbox its own user when the launcher runs as root, on any host", () => {
    expect(decideIsolation({ uid: 0, host: "0.0.0.0" })).toEqual({ mode: "users" });
    expect(decideIsolation({ uid: 0, host: "127.0.0.1" })).toEqual({ mode: "users" });
  });

  it("as a normal user shares the user, says plainly that sandboxes are not isolated", () => {
    const decision = decideIsolation({ uid: 1000, host: "127.0.0.1" });
    expect(decision.mode).toBe("shared");
    expect(decision.warning).toBe(SHARED_USER_WARNING);
    expect(decision.warning).toMatch(/NOT isolated from each other/);
  });

  it("as a normal user refuses a host other machines can reach", () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.5", "workshop.example"]) {
      expect(() => decideIsolation({ uid: 1000, host })).toThrow(/run the launcher as root/);
    }
  });

  it("knows loopback hosts", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "a.localhost"])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "localhost.example", "::ffff:10.0.0.1"])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});
