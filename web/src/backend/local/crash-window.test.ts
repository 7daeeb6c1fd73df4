import { describe, expect, it } from "vitest";
import { CrashWindow } from "./crash-window.js";

const policy = { maxCrashes: 5, windowMs: 60_000, initialDelayMs: 100, maxDelayMs: 1_000 };

describe("crash window", () => {
  it("restarts with a doubling delay and gives up at the fifth crash within a minute", () => {
    const w = new CrashWindow(policy);
    expect(w.crashed(0)).toEqual({ restart: true, delayMs: 100 });
    expect(w.crashed(1_000)).toEqual({ restart: true, delayMs: 200 });
    expect(w.crashed(2_000)).toEqual({ restart: true, delayMs: 400 });
    expect(w.crashed(3_000)).toEqual({ restart: true, delayMs: 800 });
    expect(w.crashed(4_000)).toEqual({ restart: false, crashes: 5 });
  });

  it("forgets crashes older than the window", () => {
    const w = new CrashWindow(policy);
    for (let i = 0; i < 4; i += 1) expect(w.crashed(i * 20_000).restart).toBe(true);
    // Crashes at 0 and 20 s have left the window by 80 s: three in it, keep restarting.
    expect(w.crashed(80_000)).toEqual({ restart: true, delayMs: 400 });
    expect(w.crashed(10_000_000)).toEqual({ restart: true, delayMs: 100 });
  });

  it("caps the delay", () => {
    const w = new CrashWindow({ ...policy, maxCrashes: 100 });
    let last = 0;
    for (let i = 0; i < 20; i += 1) {
      const d = w.crashed(i);
      if (d.restart) last = d.delayMs;
    }
    expect(last).toBe(1_000);
  });
});
