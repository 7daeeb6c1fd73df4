import { describe, expect, it } from "vitest";
import { IllegalTransitionError } from "../errors.js";
import { computed, FN, freed, Harness, toClient, toWorker, types } from "./testing/harness.js";

describe("submitting tasks", () => {
  it("sends the function definition before the first compute-task, then forwards inline results to the client", () => {
    const h = new Harness().client();
    h.worker("w1");
    const out = h.submit("a");
    expect(types(toWorker(out, "w1"))).toEqual(["define-function", "compute-task"]);
    expect(h.state("a")).toBe("processing");
    const data = new Uint8Array([7, 7]);
    const done = h.finish("w1", "a", { nbytes: 2, data });
    expect(toClient(done, "c1")).toEqual([{ type: "key-in-memory", key: "a", nbytes: 2, data }]);
    expect(h.state("a")).toBe("memory");
    // the second task of the same function does not resend it
    expect(types(toWorker(h.submit("b"), "w1"))).toEqual(["compute-task"]);
  });

  it("forwards a module before the function that lives in it", () => {
    const h = new Harness().client();
    h.worker("w1");
    const hash = "a".repeat(64);
    h.fromClient("c1", { type: "put-module", hash, name: "m", code: "export const f = () => 1" });
    h.fromClient("c1", {
      type: "define-function",
      id: `mod:${hash}#f`,
      name: "f",
      module: { hash, export: "f" },
    });
    const out = h.fromClient("c1", {
      type: "submit-task",
      key: "m-1",
      fn: `mod:${hash}#f`,
      args: new Uint8Array(),
      deps: [],
      priority: 0,
      retries: 0,
      allowOtherWorkers: false,
    });
    expect(types(toWorker(out, "w1"))).toEqual(["put-module", "define-function", "compute-task"]);
  });

  it("errs a task whose function was never defined, naming the fix", () => {
    const h = new Harness().client();
    const out = h.fromClient("c1", {
      type: "submit-task",
      key: "x",
      fn: "src:nope",
      args: new Uint8Array(),
      deps: [],
      priority: 0,
      retries: 0,
      allowOtherWorkers: false,
    });
    const [m] = toClient(out);
    expect(m).toMatchObject({ type: "task-erred", key: "x", error: { code: "function-error" } });
    expect(JSON.stringify(m)).toContain("send define-function");
    expect(h.s.tasks.size).toBe(0);
  });

  it("refuses a dependency the scheduler does not know with key-lost", () => {
    const h = new Harness().client();
    const [m] = toClient(h.submit("b", ["ghost"]));
    expect(m).toMatchObject({ type: "key-lost", key: "b", code: "lost-dependency" });
  });

  it("runs a chain in order and names where each dependency lives", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.submit("b", ["a"]);
    h.submit("c", ["b"]);
    expect([h.state("a"), h.state("b"), h.state("c")]).toEqual([
      "processing",
      "waiting",
      "waiting",
    ]);
    const out = h.finish("w1", "a", { nbytes: 100 });
    const [compute] = toWorker(out, "w1").filter((m) => m.type === "compute-task");
    expect(compute).toMatchObject({
      key: "b",
      deps: [{ key: "a", nbytes: 100, who: ["ws://w1:1"] }],
    });
    h.finish("w1", "b");
    expect(h.state("c")).toBe("processing");
  });

  it("runs a diamond's join only after both branches finished", () => {
    const h = new Harness().client();
    h.worker("w1", { nthreads: 4 });
    h.submit("a");
    h.submit("b", ["a"]);
    h.submit("c", ["a"]);
    h.submit("d", ["b", "c"]);
    expect(computed(h.finish("w1", "a")).sort()).toEqual(["b", "c"]);
    expect(computed(h.finish("w1", "b"))).toEqual([]);
    expect(h.state("d")).toBe("waiting");
    expect(computed(h.finish("w1", "c"))).toEqual(["d"]);
  });

  it("dedupes identical keys: one computation, every wanting client told", () => {
    const h = new Harness().client("c1").client("c2");
    h.worker("w1");
    expect(computed(h.submit("p", [], { client: "c1" }))).toEqual(["p"]);
    expect(computed(h.submit("p", [], { client: "c2" }))).toEqual([]);
    const data = new Uint8Array([1]);
    const out = h.finish("w1", "p", { nbytes: 1, data });
    expect(toClient(out, "c1")).toHaveLength(1);
    expect(toClient(out, "c2")).toHaveLength(1);
    // a third submission after the fact gets key-in-memory at once (without data: it fetches it)
    h.client("c3");
    expect(toClient(h.submit("p", [], { client: "c3" }), "c3")).toEqual([
      { type: "key-in-memory", key: "p", nbytes: 1 },
    ]);
  });

  it("answers who-has and info", () => {
    const h = new Harness({ schedulerId: "s-1" }).client();
    h.worker("w1");
    h.submit("a");
    h.finish("w1", "a");
    const [who] = toClient(
      h.fromClient("c1", { type: "who-has", requestId: 4, keys: ["a", "zz"] }),
    );
    expect(who).toEqual({ type: "who-has-reply", requestId: 4, who: { a: ["ws://w1:1"], zz: [] } });
    const [info] = toClient(h.fromClient("c1", { type: "info", requestId: 5 }));
    expect(info).toMatchObject({ type: "info-reply", schedulerId: "s-1", tasks: { memory: 1 } });
  });

  it("throws an illegal transition with the task's story", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    const t = h.s.tasks.get("a")!;
    let error: unknown;
    try {
      h.s.transition(t, "erred", { error: { name: "Error", message: "x" } });
      h.s.transition(t, "queued");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IllegalTransitionError);
    const e = error as IllegalTransitionError;
    expect(e.code).toBe("illegal-transition");
    expect(e.message).toContain("erred->queued");
    expect(e.story.map(([, from, to]) => `${from}->${to}`)).toEqual([
      "new->released",
      "released->queued",
      "queued->processing",
      "processing->erred",
    ]);
  });

  it("uses the function's name in the task stream", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.finish("w1", "a", { durationMs: 3 });
    expect(h.s.taskStream()).toMatchObject([
      { key: "a", name: "inc", worker: "w1", outcome: "memory" },
    ]);
    expect(h.s.progressByName()).toMatchObject({ inc: { memory: 1 } });
    expect(FN).toMatch(/^src:/);
  });
});

describe("reference counting", () => {
  it("frees a result once no client wants it, and forgets the task", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.finish("w1", "a");
    const out = h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    expect(freed(out, "w1")).toEqual(["a"]);
    expect(h.state("a")).toBe("forgotten");
  });

  it("keeps a released dependency until its dependent finished, then frees it but keeps its lineage", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.submit("b", ["a"]);
    h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    expect(h.state("a")).toBe("processing");
    h.finish("w1", "a");
    expect(h.state("a")).toBe("memory");
    const out = h.finish("w1", "b");
    expect(freed(out, "w1")).toEqual(["a"]);
    expect(h.state("a")).toBe("released");
    // dropping b forgets both
    h.fromClient("c1", { type: "release-keys", keys: ["b"] });
    expect(h.s.tasks.size).toBe(0);
  });

  it("stops computing a task nobody wants any more", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.submit("b", ["a"]);
    const out = h.fromClient("c1", { type: "release-keys", keys: ["a", "b"] });
    expect(freed(out, "w1")).toEqual(["a"]);
    expect(h.s.tasks.size).toBe(0);
  });

  it("releases everything a disconnected client wanted", () => {
    const h = new Harness().client("c1").client("c2");
    h.worker("w1");
    h.submit("a", [], { client: "c1" });
    h.submit("b", [], { client: "c2" });
    h.finish("w1", "a");
    const out = h.event({ type: "client-left", now: h.tick(), client: "c1" });
    expect(freed(out)).toEqual(["a"]);
    expect(h.state("b")).toBe("processing");
  });

  it("recomputes a released task when a client wants it again", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.submit("b", ["a"]);
    h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    h.finish("w1", "a");
    h.finish("w1", "b");
    expect(h.state("a")).toBe("released");
    expect(computed(h.fromClient("c1", { type: "want-keys", keys: ["a"] }))).toEqual(["a"]);
  });
});

describe("cancel", () => {
  it("cancels a task and its waiting dependents, telling the worker and every wanting client", () => {
    const h = new Harness().client("c1").client("c2");
    h.worker("w1");
    h.submit("a", [], { client: "c1" });
    h.submit("b", ["a"], { client: "c2" });
    const out = h.fromClient("c1", { type: "cancel-keys", keys: ["a"] });
    expect(freed(out, "w1")).toEqual(["a"]);
    expect(toClient(out, "c1")).toMatchObject([{ type: "key-lost", key: "a", code: "cancelled" }]);
    expect(toClient(out, "c2")).toMatchObject([{ type: "key-lost", key: "b", code: "cancelled" }]);
    expect(h.s.tasks.size).toBe(0);
    expect(h.s.story("a").at(-1)?.[2]).toBe("cancelled");
  });

  it("only drops the cancelling client's interest while another client wants the key", () => {
    const h = new Harness().client("c1").client("c2");
    h.worker("w1");
    h.submit("a", [], { client: "c1" });
    h.submit("a", [], { client: "c2" });
    const out = h.fromClient("c1", { type: "cancel-keys", keys: ["a"] });
    expect(freed(out)).toEqual([]);
    expect(h.state("a")).toBe("processing");
    expect(toClient(out, "c1")).toMatchObject([{ type: "key-lost", code: "cancelled" }]);
  });

  it("ignores a late result of a cancelled task and tells the worker to drop it", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.fromClient("c1", { type: "cancel-keys", keys: ["a"] });
    const out = h.finish("w1", "a");
    expect(freed(out, "w1")).toEqual(["a"]);
    expect(toClient(out)).toEqual([]);
  });
});
