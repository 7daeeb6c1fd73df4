import { describe, expect, it } from "vitest";
import { LaunchQueue } from "./launch-queue.js";

const entry = (id: string) => ({ id, owner: `o-${id}`, requestedAt: 0, expiresAt: 1 });

describe("launch queue", () => {
  it("starts launches first come, first served, within the concurrency limit", () => {
    const q = new LaunchQueue(2);
    expect(q.enqueue(entry("a")).map((e) => e.id)).toEqual(["a"]);
    expect(q.enqueue(entry("b")).map((e) => e.id)).toEqual(["b"]);
    expect(q.enqueue(entry("c"))).toEqual([]);
    expect(q.enqueue(entry("d"))).toEqual([]);
    expect(q.position("c")).toBe(1);
    expect(q.position("d")).toBe(2);
    expect(q.finished("a").map((e) => e.id)).toEqual(["c"]);
    expect(q.position("d")).toBe(1);
    expect(q.inFlight).toBe(2);
  });

  it("cancels a waiting launch and moves the others up", () => {
    const q = new LaunchQueue(1);
    q.enqueue(entry("a"));
    q.enqueue(entry("b"));
    q.enqueue(entry("c"));
    expect(q.cancel("b")).toBe(true);
    expect(q.position("c")).toBe(1);
    expect(q.cancel("zzz")).toBe(false);
    expect(q.byOwner("o-c")?.id).toBe("c");
  });

  it("rejects a non-positive concurrency", () => {
    expect(() => new LaunchQueue(0)).toThrow(RangeError);
  });
});
