import { describe, expect, it } from "vitest";
import type { LaunchbayError } from "./errors.js";
import { resolveSchedulerAddress } from "./scheduler-address.js";

describe("resolveSchedulerAddress", () => {
  it("takes an explicit address over LAUNCHBAY_SCHEDULER", () => {
    expect(resolveSchedulerAddress("ws://10.0.0.1:9000", { LAUNCHBAY_SCHEDULER: "ws://x:1" })).toBe(
      "ws://10.0.0.1:9000",
    );
    expect(resolveSchedulerAddress(undefined, { LAUNCHBAY_SCHEDULER: "ws://scheduler:8786" })).toBe(
      "ws://scheduler:8786",
    );
  });

  it("normalises bare, tcp and http addresses to WebSocket URLs", () => {
    expect(resolveSchedulerAddress("127.0.0.1:8786", {})).toBe("ws://127.0.0.1:8786");
    expect(resolveSchedulerAddress("scheduler", {})).toBe("ws://scheduler:8786");
    expect(resolveSchedulerAddress("tcp://scheduler", {})).toBe("ws://scheduler:8786");
    expect(resolveSchedulerAddress("http://h:1/", {})).toBe("ws://h:1");
    expect(resolveSchedulerAddress("https://h", {})).toBe("wss://h");
  });

  it("says how to give an address when there is none", () => {
    try {
      resolveSchedulerAddress(undefined, {});
      expect.unreachable();
    } catch (error) {
      expect((error as LaunchbayError).code).toBe("no-address");
      expect((error as Error).message).toMatch(/set LAUNCHBAY_SCHEDULER.*LocalCluster\.start\(\)/);
    }
  });

  it("rejects addresses with another scheme or a path", () => {
    expect(() => resolveSchedulerAddress("ftp://h:1", {})).toThrow(
      /scheme ftp: is not one of ws, wss/,
    );
    expect(() => resolveSchedulerAddress("ws://h:1/some/path", {})).toThrow(/has no path/);
  });
});
