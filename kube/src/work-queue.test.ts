import { describe, expect, it } from "vitest";
import { TerminalError } from "./errors.js";
import { type Timers, WorkQueue } from "./work-queue.js";

/** Manual clock: timers fire only when the test advances time. */
function manualTimers() {
  let now = 0;
  const pending: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = nextId++;
      pending.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      const i = pending.findIndex((p) => p.id === id);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timers,
    now: () => now,
    advance(ms: number) {
      now += ms;
      for (const p of pending.filter((p) => p.at <= now).sort((a, b) => a.at - b.at)) {
        pending.splice(pending.indexOf(p), 1);
        p.fn();
      }
    },
    pendingCount: () => pending.length,
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("WorkQueue", () => {
  it("processes a key added many times while queued once", async () => {
    const clock = manualTimers();
    const q = new WorkQueue(
      { concurrency: 1, baseRetryMs: 10, maxRetryMs: 100, timers: clock.timers },
      clock.now,
    );
    const seen: string[] = [];
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("a");
    q.start(async (key) => {
      seen.push(key);
      return undefined;
    });
    await q.whenIdle();
    expect(seen).toEqual(["a", "b"]);
  });

  it("never processes the same key concurrently and re-runs it if added meanwhile", async () => {
    const clock = manualTimers();
    const q = new WorkQueue(
      { concurrency: 4, baseRetryMs: 10, maxRetryMs: 100, timers: clock.timers },
      clock.now,
    );
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    q.start(async () => {
      calls += 1;
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await gate.promise;
      running -= 1;
      return undefined;
    });
    q.add("a");
    q.add("a");
    gate.resolve();
    await q.whenIdle();
    expect(maxRunning).toBe(1);
    expect(calls).toBe(2);
  });

  it("retries a failing key with exponential backoff", async () => {
    const clock = manualTimers();
    const q = new WorkQueue(
      { concurrency: 1, baseRetryMs: 10, maxRetryMs: 25, timers: clock.timers },
      clock.now,
    );
    const delays: number[] = [];
    q.onError.push((_k, _e, ms) => delays.push(ms));
    let calls = 0;
    q.start(async () => {
      calls += 1;
      if (calls < 4) throw new Error("boom");
      return undefined;
    });
    q.add("a");
    for (let i = 0; i < 3; i++) {
      await q.whenIdle();
      clock.advance(25);
    }
    await q.whenIdle();
    expect(delays).toEqual([10, 20, 25]);
    expect(calls).toBe(4);
  });

  it("does not retry a key whose handler throws a TerminalError, until it is added again", async () => {
    const clock = manualTimers();
    const q = new WorkQueue(
      { concurrency: 1, baseRetryMs: 10, maxRetryMs: 25, timers: clock.timers },
      clock.now,
    );
    const terminal: string[] = [];
    const retried: string[] = [];
    q.onTerminal.push((key, error) => terminal.push(`${key}: ${error.message}`));
    q.onError.push((key) => retried.push(key));
    const calls = new Map<string, number>();
    q.start(async (key) => {
      calls.set(key, (calls.get(key) ?? 0) + 1);
      // Control: "flaky" fails once with an ordinary error and is retried.
      if (key === "flaky" && calls.get(key) === 1) throw new Error("connection reset");
      if (key === "invalid") throw new TerminalError("spec.workers must be a number");
      return undefined;
    });
    q.add("invalid");
    q.add("flaky");
    await q.whenIdle();
    clock.advance(1000);
    await q.whenIdle();
    expect(terminal).toEqual(["invalid: spec.workers must be a number"]);
    expect(retried).toEqual(["flaky"]);
    expect(calls.get("invalid")).toBe(1);
    expect(calls.get("flaky")).toBe(2);
    expect(clock.pendingCount()).toBe(0);
    // A change to the object adds the key again: the handler sees it once more.
    q.add("invalid");
    await q.whenIdle();
    expect(calls.get("invalid")).toBe(2);
  });

  it("requeues after the delay the handler asks for, keeping the earliest", async () => {
    const clock = manualTimers();
    const q = new WorkQueue(
      { concurrency: 1, baseRetryMs: 10, maxRetryMs: 100, timers: clock.timers },
      clock.now,
    );
    let calls = 0;
    q.start(async () => {
      calls += 1;
      return calls === 1 ? { requeueAfterMs: 1000 } : undefined;
    });
    q.add("a");
    await q.whenIdle();
    q.addAfter("a", 5000);
    clock.advance(999);
    await q.whenIdle();
    expect(calls).toBe(1);
    clock.advance(1);
    await q.whenIdle();
    expect(calls).toBe(2);
    expect(clock.pendingCount()).toBe(0);
  });

  it("drops delayed work on shutdown", async () => {
    const clock = manualTimers();
    const q = new WorkQueue(
      { concurrency: 1, baseRetryMs: 10, maxRetryMs: 100, timers: clock.timers },
      clock.now,
    );
    q.start(async () => undefined);
    q.addAfter("a", 100);
    await q.shutdown();
    expect(clock.pendingCount()).toBe(0);
  });
});
