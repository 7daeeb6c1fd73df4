/**
 * Random event sequences (seeded, reproducible): invariants hold after every event,
 * and once workers finish everything, every wanted key ends in memory or erred and
 * releasing everything leaves nothing behind.
 */
import { describe, expect, it } from "vitest";
import { Harness } from "./testing/harness.js";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function run(seed: number, steps: number): void {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T | undefined =>
    xs.length === 0 ? undefined : xs[Math.floor(rand() * xs.length)];
  const h = new Harness({ allowedFailures: 2 });
  const clients = ["c1", "c2"];
  for (const c of clients) h.client(c);
  let nextWorker = 1;
  let nextKey = 1;
  const live = new Set<string>();
  const addWorker = () => {
    const id = `w${nextWorker++}`;
    live.add(id);
    h.worker(id, {
      nthreads: 1 + Math.floor(rand() * 3),
      resources: rand() < 0.5 ? { gpu: 1 } : {},
    });
  };
  addWorker();
  const processing = () => [...h.s.tasks.values()].filter((t) => t.state === "processing");

  for (let step = 0; step < steps; step++) {
    const r = rand();
    const client = pick(clients)!;
    const keys = [...h.s.tasks.keys()];
    if (r < 0.3) {
      const deps = new Set<string>();
      const n = Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) {
        const d = pick(keys);
        if (d) deps.add(d);
      }
      const key = rand() < 0.1 && keys.length > 0 ? pick(keys)! : `k${nextKey++}`;
      h.submit(key, [...deps], {
        client,
        retries: Math.floor(rand() * 2),
        priority: Math.floor(rand() * 3),
        ...(rand() < 0.1 ? { resources: { gpu: 1 } } : {}),
      });
    } else if (r < 0.55) {
      const t = pick(processing());
      if (t?.run)
        h.finish(t.processingOn!, t.key, {
          nbytes: Math.floor(rand() * 1000),
          durationMs: rand() * 10,
        });
      else if (t?.pendingStores) {
        const w = pick([...t.pendingStores])!;
        h.fromWorker(w, { type: "keys-stored", keys: [{ key: t.key, nbytes: t.nbytes }] });
      }
    } else if (r < 0.6) {
      const t = pick(processing().filter((x) => x.run));
      if (t) h.failTask(t.processingOn!, t.key);
    } else if (r < 0.68) {
      const key = pick(keys);
      if (key) h.fromClient(client, { type: "release-keys", keys: [key] });
    } else if (r < 0.71) {
      const key = pick(keys);
      if (key) h.fromClient(client, { type: "cancel-keys", keys: [key] });
    } else if (r < 0.74) {
      const key = pick(keys);
      if (key) h.fromClient(client, { type: "want-keys", keys: [key] });
    } else if (r < 0.78) {
      const w = pick([...live]);
      if (w && live.size > 1) {
        live.delete(w);
        h.workerLeft(w);
      }
    } else if (r < 0.82) {
      if (live.size < 4) addWorker();
    } else if (r < 0.85) {
      h.fromClient(client, {
        type: "scatter",
        items: [{ key: `s${nextKey++}`, data: new Uint8Array(5) }],
        broadcast: rand() < 0.3,
      });
    } else if (r < 0.88) {
      const t = pick(processing().filter((x) => x.run && x.deps.length > 0));
      if (t) {
        const dep = pick(t.deps)!;
        const from = [...dep.whoHas].map((w) => `ws://${w}:1`);
        h.fromWorker(t.processingOn!, {
          type: "missing-data",
          key: t.key,
          dependency: dep.key,
          from,
        });
      }
    } else if (r < 0.9) {
      // stale and duplicate messages from workers
      const w = pick([...live])!;
      h.finish(w, pick(keys) ?? "nope");
    } else if (r < 0.92) {
      const c = pick(clients)!;
      h.event({ type: "client-left", now: h.tick(), client: c });
      h.client(c);
    }
    // else: idle step
  }

  // drain: with a gpu worker present, finish everything
  h.worker("drain", { nthreads: 4, resources: { gpu: 4 } });
  for (let i = 0; i < 100_000; i++) {
    const t = processing()[0];
    if (!t) break;
    if (t.run) h.finish(t.processingOn!, t.key);
    else
      h.fromWorker([...t.pendingStores!][0]!, {
        type: "keys-stored",
        keys: [{ key: t.key, nbytes: t.nbytes }],
      });
  }
  expect(h.s.counts.waiting + h.s.counts.queued + h.s.counts.processing).toBe(0);
  for (const t of h.s.tasks.values()) {
    if (t.wantedBy.size > 0) expect(["memory", "erred"]).toContain(t.state);
  }
  for (const c of clients) h.event({ type: "client-left", now: h.tick(), client: c });
  expect(h.s.tasks.size).toBe(0);
  for (const w of h.s.workers.values()) expect(w.bytesHeld).toBe(0);
}

describe("randomized event sequences", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    it(`keeps every invariant and drains cleanly (seed ${seed})`, () => run(seed, 1500));
  }
});
