import { describe, expect, it } from "vitest";
import { computed, freed, Harness, toClient, toWorker } from "./testing/harness.js";

describe("task errors", () => {
  it("retries a failing task, then errs it with the remote error", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a", [], { retries: 1 });
    expect(computed(h.failTask("w1", "a"))).toEqual(["a"]);
    const out = h.failTask("w1", "a");
    expect(toClient(out, "c1")).toEqual([
      {
        type: "task-erred",
        key: "a",
        error: { name: "Error", message: "boom", stack: "Error: boom\n  at f" },
      },
    ]);
    expect(h.state("a")).toBe("erred");
  });

  it("errs dependents transitively, saying which dependency failed", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.submit("b", ["a"]);
    h.submit("c", ["b"]);
    const out = toClient(h.failTask("w1", "a"));
    expect(out.map((m) => m.type === "task-erred" && [m.key, m.error.message])).toEqual([
      ["a", "boom"],
      ["b", "dependency a failed: boom"],
      ["c", "dependency a failed: boom"],
    ]);
    // a task submitted later on an erred dependency errs at once
    expect(toClient(h.submit("d", ["c"]))).toMatchObject([
      { type: "task-erred", key: "d", error: { message: "dependency a failed: boom" } },
    ]);
  });

  it("answers a client that wants an erred key with the error", () => {
    const h = new Harness().client("c1").client("c2");
    h.worker("w1");
    h.submit("a");
    h.failTask("w1", "a");
    expect(toClient(h.submit("a", [], { client: "c2" }), "c2")).toMatchObject([
      { type: "task-erred", key: "a" },
    ]);
  });
});

describe("worker loss", () => {
  it("reschedules tasks that were processing on a lost worker", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    h.submit("a");
    const first = h.on("a")!;
    const other = first === "w1" ? "w2" : "w1";
    expect(computed(h.workerLeft(first), other)).toEqual(["a"]);
    expect(h.s.tasks.get("a")!.suspicious).toBe(1);
  });

  it("errs a task with killed-worker once more workers than allowed died running it", () => {
    const h = new Harness({ allowedFailures: 1 }).client();
    h.worker("w1");
    h.submit("a");
    h.workerLeft("w1");
    h.worker("w2");
    expect(h.on("a")).toBe("w2");
    const out = toClient(h.workerLeft("w2"));
    expect(out).toMatchObject([
      { type: "task-erred", key: "a", error: { code: "killed-worker", name: "KilledWorker" } },
    ]);
    expect(JSON.stringify(out)).toContain("running on 2 workers that died (last: w2)");
  });

  it("recomputes a lost result from lineage when a client still wants it", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.submit("b", ["a"]);
    h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    h.finish("w1", "a");
    h.finish("w1", "b");
    expect(h.state("a")).toBe("released");
    h.worker("w2");
    const out = h.workerLeft("w1");
    // b needs a, which was freed: both come back, a first
    expect(computed(out, "w2")).toEqual(["a"]);
    expect(h.state("b")).toBe("waiting");
    expect(computed(h.finish("w2", "a"), "w2")).toEqual(["b"]);
    const done = h.finish("w2", "b");
    expect(toClient(done)).toMatchObject([{ type: "key-in-memory", key: "b" }]);
    expect(freed(done, "w2")).toEqual(["a"]);
  });

  it("moves ready dependents back to waiting when their dependency's only copy is lost", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    h.submit("a");
    const holder = h.on("a")!;
    const other = holder === "w1" ? "w2" : "w1";
    h.finish(holder, "a", { durationMs: 200 });
    // long tasks: one per thread, so with x1 running on the other worker, b queues
    h.submit("x1", [], { workers: [other] });
    h.submit("x2", [], { workers: [other] });
    h.submit("b", ["a"], { workers: [other] });
    expect(h.state("b")).toBe("queued");
    h.workerLeft(holder);
    expect(h.state("b")).toBe("waiting");
    expect(h.state("a")).toBe("queued");
  });

  it("reschedules a task whose worker could not fetch a dependency, and recomputes the dependency if gone", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    h.submit("a");
    const holder = h.on("a")!;
    const other = holder === "w1" ? "w2" : "w1";
    h.finish(holder, "a");
    h.submit("b", ["a"], { workers: [other] });
    const out = h.fromWorker(other, {
      type: "missing-data",
      key: "b",
      dependency: "a",
      from: [`ws://${holder}:1`],
    });
    expect(computed(out)).toEqual(["a"]);
    expect(h.state("b")).toBe("waiting");
  });
});

describe("scatter", () => {
  it("stores scattered data on the least loaded worker and reports it in memory once stored", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    const data = new Uint8Array(10);
    const out = h.fromClient("c1", {
      type: "scatter",
      items: [
        { key: "s1", data },
        { key: "s2", data },
      ],
      broadcast: false,
    });
    const puts = toWorker(out).filter((m) => m.type === "put-data");
    expect(puts).toHaveLength(2);
    expect(h.state("s1")).toBe("processing");
    const target = (
      out.find(
        (c) =>
          c.type === "send-worker" &&
          c.message.type === "put-data" &&
          c.message.items[0]?.key === "s1",
      ) as {
        worker: string;
      }
    ).worker;
    const stored = h.fromWorker(target, { type: "keys-stored", keys: [{ key: "s1", nbytes: 10 }] });
    expect(toClient(stored)).toEqual([{ type: "key-in-memory", key: "s1", nbytes: 10 }]);
    // a task on scattered data runs where the data is
    h.submit("use", ["s1"]);
    expect(h.on("use")).toBe(target);
  });

  it("tells the client when no worker can store scattered data", () => {
    const h = new Harness().client();
    const out = h.fromClient("c1", {
      type: "scatter",
      items: [{ key: "s", data: new Uint8Array(1) }],
      broadcast: false,
    });
    expect(toClient(out)).toMatchObject([{ type: "key-lost", key: "s", code: "no-worker" }]);
  });

  it("reports lost scattered data and its dependents with lost-dependency", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.fromClient("c1", {
      type: "scatter",
      items: [{ key: "s", data: new Uint8Array(1) }],
      broadcast: false,
    });
    h.fromWorker("w1", { type: "keys-stored", keys: [{ key: "s", nbytes: 1 }] });
    h.submit("x", [], {});
    h.submit("y", [], {});
    h.submit("use", ["s"]);
    expect(h.state("use")).toBe("queued");
    const out = toClient(h.workerLeft("w1"));
    expect(out).toMatchObject([
      { type: "key-lost", key: "use", code: "lost-dependency" },
      { type: "key-lost", key: "s", code: "lost-dependency" },
    ]);
    expect(JSON.stringify(out)).toContain("scatter it again");
    expect(h.state("s")).toBe("forgotten");
  });

  it("copies broadcast data to every worker", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.worker("w2");
    const out = h.fromClient("c1", {
      type: "scatter",
      items: [{ key: "s", data: new Uint8Array(1) }],
      broadcast: true,
    });
    expect(toWorker(out).filter((m) => m.type === "put-data")).toHaveLength(2);
    h.fromWorker("w1", { type: "keys-stored", keys: [{ key: "s", nbytes: 1 }] });
    h.fromWorker("w2", { type: "keys-stored", keys: [{ key: "s", nbytes: 1 }] });
    expect([...h.s.tasks.get("s")!.whoHas].sort()).toEqual(["w1", "w2"]);
  });
});
