import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { fastCheck, fastChecksFor } from "./fast-checks.js";
import {
  ClientToScheduler,
  SchedulerToClient,
  SchedulerToWorker,
  WorkerToPeer,
  WorkerToScheduler,
} from "./messages.js";

const key = "inc-0123456789abcdef0123456789abcdef";
const fn = `src:${"a".repeat(64)}`;
const bytes = Uint8Array.of(255, 15, 73, 2);

/** Typical messages of every fast-checked type, as peers send them. */
const samples: [z.ZodType, Record<string, unknown>][] = [
  [ClientToScheduler, { type: "submit-task", key, fn, args: bytes, deps: [] }],
  [ClientToScheduler, { type: "submit-task", key, fn, args: bytes, deps: ["a", "b"], priority: 3 }],
  [
    ClientToScheduler,
    {
      type: "submit-task",
      key,
      fn,
      args: bytes,
      deps: [key],
      priority: -1.5,
      retries: 2,
      allowOtherWorkers: true,
    },
  ],
  [ClientToScheduler, { type: "release-keys", keys: [key, "b"] }],
  [ClientToScheduler, { type: "want-keys", keys: [] }],
  [ClientToScheduler, { type: "cancel-keys", keys: [key] }],
  [WorkerToScheduler, { type: "task-finished", key, nbytes: 4, durationMs: 0.25, data: bytes }],
  [WorkerToScheduler, { type: "task-finished", key, nbytes: 100_000_000, durationMs: 0 }],
  [
    SchedulerToWorker,
    {
      type: "compute-task",
      key,
      fn,
      args: bytes,
      deps: [{ key: "d", nbytes: 8, who: ["ws://127.0.0.1:1", "ws://h:2"] }],
      priority: 0,
    },
  ],
  [SchedulerToWorker, { type: "compute-task", key, fn, args: bytes, deps: [], priority: 7 }],
  [SchedulerToWorker, { type: "free-keys", keys: [key] }],
  [SchedulerToClient, { type: "key-in-memory", key, nbytes: 4, data: bytes }],
  [SchedulerToClient, { type: "key-in-memory", key, nbytes: 1_000_000 }],
  [WorkerToPeer, { type: "data", requestId: 3, items: [{ key, data: bytes }], missing: ["gone"] }],
];

const oddValues: unknown[] = [
  undefined,
  null,
  0,
  -1,
  -0,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  101,
  100,
  "",
  "x",
  "abcd",
  "abcde",
  "x".repeat(201),
  "x".repeat(1024),
  "x".repeat(1025),
  true,
  false,
  [],
  [""],
  ["a"],
  [1],
  [{ key: "d", nbytes: 1, who: [] }],
  [{ key: "d", nbytes: -1, who: [] }],
  [{ key: "d", nbytes: 1, who: [1] }],
  [{ key: "d", nbytes: 1, who: [], extra: 1 }],
  [{ key, data: bytes }],
  [{ key, data: "not bytes" }],
  [{ key: "", data: bytes }],
  {},
  new Uint8Array(0),
  Buffer.from("abc"),
  new Float64Array(1),
  new ArrayBuffer(4),
  [null],
];

/** Every message one change away from a sample: each field removed or replaced, one key added. */
function* mutations(sample: Record<string, unknown>): Generator<unknown> {
  for (const field of Object.keys(sample)) {
    const without = { ...sample };
    delete without[field];
    yield without;
    for (const value of oddValues) yield { ...sample, [field]: value };
    const inner = sample[field];
    if (Array.isArray(inner) && inner.length > 0 && typeof inner[0] === "object") {
      const entry = inner[0] as Record<string, unknown>;
      for (const f of Object.keys(entry)) {
        for (const value of oddValues) yield { ...sample, [field]: [{ ...entry, [f]: value }] };
        const less = { ...entry };
        delete less[f];
        yield { ...sample, [field]: [less] };
      }
    }
  }
  for (const extra of ["workers", "resources", "extra", "__proto__x"]) {
    yield { ...sample, [extra]: ["w"] };
    yield { ...sample, [extra]: { gpu: 1 } };
  }
  yield Object.assign(Object.create({ inherited: 1 }), sample);
  yield { ...sample, type: "error" };
  yield { ...sample, type: "heartbeat" };
}

describe("fast message checks", () => {
  it("accept the usual messages and return what zod returns", () => {
    for (const [schema, sample] of samples) {
      const checks = fastChecksFor(schema);
      const fast = fastCheck(checks, sample);
      expect(fast, `fast check refused ${String(sample.type)}`).toBeDefined();
      const parsed = schema.safeParse(sample);
      expect(parsed.success).toBe(true);
      expect(fast).toEqual(parsed.data);
    }
  });

  it("never accept a message zod refuses, nor return anything zod would not", () => {
    let accepted = 0;
    let refused = 0;
    for (const [schema, sample] of samples) {
      const checks = fastChecksFor(schema);
      for (const mutated of mutations(sample)) {
        const fast = fastCheck(checks, mutated);
        const parsed = schema.safeParse(mutated);
        if (fast === undefined) {
          refused++;
          continue;
        }
        accepted++;
        expect(parsed.success, `fast check accepted ${JSON.stringify(mutated)}`).toBe(true);
        expect(fast).toEqual(parsed.data);
      }
    }
    // both outcomes are exercised
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(500);
  });

  it("leave message types of other conversations to zod", () => {
    const finished = { type: "task-finished", key, nbytes: 1, durationMs: 1 };
    expect(fastCheck(fastChecksFor(ClientToScheduler), finished)).toBeUndefined();
    expect(ClientToScheduler.safeParse(finished).success).toBe(false);
    const submit = samples[0]![1];
    expect(fastCheck(fastChecksFor(WorkerToScheduler), submit)).toBeUndefined();
  });

  it("do not share arrays with the raw message", () => {
    const raw = { type: "release-keys", keys: [key] };
    const checked = fastCheck(fastChecksFor(ClientToScheduler), raw) as { keys: string[] };
    expect(checked.keys).toEqual(raw.keys);
    expect(checked.keys).not.toBe(raw.keys);
  });
});
