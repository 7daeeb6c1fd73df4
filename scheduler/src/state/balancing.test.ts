import { describe, expect, it } from "vitest";
import { computed, Harness, toClient } from "./testing/harness.js";

describe("load balancing and the saturation queue", () => {
  it("spreads tasks over idle workers", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    for (let i = 0; i < 4; i++) h.submit(`t${i}`);
    const per = (w: string) => [...h.s.tasks.values()].filter((t) => t.processingOn === w).length;
    expect(per("w1")).toBe(2);
    expect(per("w2")).toBe(2);
  });

  it("runs a task where its large dependency already is", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    h.submit("big", [], {});
    const holder = h.on("big")!;
    h.finish(holder, "big", { nbytes: 500e6 });
    h.submit("use", ["big"]);
    expect(h.on("use")).toBe(holder);
  });

  it("holds work beyond each worker's in-flight limit in the queue, and assigns it as slots free", () => {
    const h = new Harness().client();
    h.worker("w1");
    for (let i = 0; i < 10; i++) h.submit(`t${i}`);
    // unknown function: 2 per thread in flight, the rest queued
    expect(h.s.counts.processing).toBe(2);
    expect(h.s.counts.queued).toBe(8);
    const out = h.finish("w1", "t0", { durationMs: 50 });
    expect(computed(out)).toEqual(["t2"]);
  });

  it("deepens the pipeline for tiny tasks and keeps long ones to one per thread", () => {
    const h = new Harness().client();
    h.worker("w1", { nthreads: 2 });
    for (let i = 0; i < 500; i++) h.submit(`t${i}`);
    expect(h.s.counts.processing).toBe(4);
    h.finish("w1", "t0", { durationMs: 0.05 });
    // ~5 ms of 0.05 ms tasks per thread: 101 slots per thread
    expect(h.s.counts.processing).toBe(2 * 101);
    const e = h.s.estimates;
    e.observe("src:long", 1000);
    expect(e.slotsPerThread("src:long")).toBe(1);
  });

  it("runs queued tasks by priority, then in submission order", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("first");
    h.submit("second");
    h.submit("low", [], { priority: -1 });
    h.submit("normal");
    h.submit("urgent", [], { priority: 10 });
    expect(computed(h.finish("w1", "first", { durationMs: 50 }))).toEqual(["urgent"]);
    expect(computed(h.finish("w1", "second", { durationMs: 50 }))).toEqual(["normal"]);
    expect(computed(h.finish("w1", "urgent", { durationMs: 50 }))).toEqual(["low"]);
  });

  it("gives queued work to a worker that joins later", () => {
    const h = new Harness().client();
    h.worker("w1");
    for (let i = 0; i < 6; i++) h.submit(`t${i}`);
    expect(computed(h.worker("w2"))).toHaveLength(2);
  });

  it("waits for a worker when none is connected", () => {
    const h = new Harness().client();
    h.submit("a");
    expect(h.state("a")).toBe("queued");
    expect(computed(h.worker("w1"))).toEqual(["a"]);
  });
});

describe("restrictions and resources", () => {
  it("runs a task only on the named workers", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a", [], { workers: ["w2"] });
    expect(h.state("a")).toBe("queued");
    expect(computed(h.worker("w2"), "w2")).toEqual(["a"]);
  });

  it("treats named workers as a preference with allowOtherWorkers", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a", [], { workers: ["w2"], allowOtherWorkers: true });
    expect(h.on("a")).toBe("w1");
  });

  it("holds a task until its worker has the resources free", () => {
    const h = new Harness().client();
    h.worker("w1", { nthreads: 4, resources: { gpu: 1 } });
    h.submit("g1", [], { resources: { gpu: 1 } });
    h.submit("g2", [], { resources: { gpu: 1 } });
    expect(h.state("g1")).toBe("processing");
    expect(h.state("g2")).toBe("queued");
    expect(computed(h.finish("w1", "g1"))).toEqual(["g2"]);
  });

  it("errs a task no connected worker could ever satisfy, naming the resource", () => {
    const h = new Harness().client();
    h.worker("w1", { resources: { memoryMiB: 1024 } });
    const [m] = toClient(h.submit("a", [], { resources: { memoryMiB: 4096 } }));
    expect(m).toMatchObject({ type: "task-erred", key: "a", error: { code: "no-worker" } });
    expect(JSON.stringify(m)).toContain("4096 memoryMiB");
    expect(h.state("a")).toBe("erred");
  });

  it("keeps a resource-restricted task queued while no worker is connected at all", () => {
    const h = new Harness().client();
    h.submit("a", [], { resources: { gpu: 1 } });
    expect(h.state("a")).toBe("queued");
    expect(computed(h.worker("w1", { resources: { gpu: 2 } }))).toEqual(["a"]);
  });
});
