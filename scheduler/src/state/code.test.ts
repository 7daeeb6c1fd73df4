import { describe, expect, it } from "vitest";
import type { ClientToScheduler } from "@launchbay/protocol";
import { FN, Harness, toClient, toWorker, types } from "./testing/harness.js";

const HASH = "b".repeat(64);
const MOD_FN = `mod:${HASH}#f`;

function submitWith(h: Harness, key: string, fn: string, deps: string[] = [], client = "c1") {
  return h.fromClient(client, {
    type: "submit-task",
    key,
    fn,
    args: new Uint8Array([1]),
    deps,
    priority: 0,
    retries: 0,
    allowOtherWorkers: false,
  });
}

const define = (id: string, source: string): ClientToScheduler => ({
  type: "define-function",
  id,
  name: "big",
  source,
});
const putModule = (code: string): ClientToScheduler => ({
  type: "put-module",
  hash: HASH,
  name: "helpers.ts",
  code,
});
const defineModuleFn: ClientToScheduler = {
  type: "define-function",
  id: MOD_FN,
  name: "f",
  module: { hash: HASH, export: "f" },
};
const release = (functions: string[], modules: string[] = []): ClientToScheduler => ({
  type: "release-code",
  functions,
  modules,
});

describe("shipped functions and modules", () => {
  it("frees a function on the scheduler and its workers once no task and no client holds it", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.finish("w1", "a");
    expect(h.s.code.bytes).toBeGreaterThan(0);
    // The client still holds the function: releasing the key alone keeps it.
    h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    expect(h.s.code.functions.has(FN)).toBe(true);
    const out = h.fromClient("c1", release([FN]));
    expect(toWorker(out, "w1")).toEqual([{ type: "free-code", functions: [FN], modules: [] }]);
    expect(h.s.code.functions.size).toBe(0);
    expect(h.s.code.bytes).toBe(0);
    // Defined again later, it goes to the worker again before its task.
    h.fromClient("c1", define(FN, "(x) => x + 1"));
    expect(types(toWorker(h.submit("b"), "w1"))).toEqual(["define-function", "compute-task"]);
  });

  it("keeps a function while a task refers to it, then frees it with the task", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.submit("a");
    h.fromClient("c1", release([FN]));
    expect(h.s.code.functions.get(FN)?.tasks).toBe(1);
    expect(toWorker(h.finish("w1", "a"), "w1")).toEqual([]);
    const out = h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    expect(toWorker(out, "w1")).toEqual([
      { type: "free-keys", keys: ["a"] },
      { type: "free-code", functions: [FN], modules: [] },
    ]);
    expect(h.s.code.bytes).toBe(0);
  });

  it("keeps the function of a released task that is lineage for a wanted one", () => {
    const h = new Harness().client();
    h.worker("w1");
    const other = "src:0000000000000000000000000000000000000000000000000000000000000002";
    h.fromClient("c1", define(other, "(x) => x * 2"));
    submitWith(h, "a", other);
    h.finish("w1", "a");
    h.submit("b", ["a"]);
    h.finish("w1", "b");
    h.fromClient("c1", { type: "release-keys", keys: ["a"] });
    h.fromClient("c1", release([other]));
    expect(h.state("a")).toBe("released");
    expect(h.s.code.functions.has(other)).toBe(true);
    h.fromClient("c1", { type: "release-keys", keys: ["b"] });
    expect(h.s.code.functions.has(other)).toBe(false);
  });

  it("drops everything a client held when it leaves", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.fromClient("c1", putModule("export const f = () => 1"));
    h.fromClient("c1", defineModuleFn);
    submitWith(h, "m", MOD_FN);
    h.finish("w1", "m");
    const out = h.event({ type: "client-left", now: h.tick(), client: "c1" });
    expect(toWorker(out, "w1")).toContainEqual({
      type: "free-code",
      functions: [MOD_FN],
      modules: [HASH],
    });
    expect(h.s.code.functions.size + h.s.code.modules.size).toBe(0);
    expect(h.s.code.bytes).toBe(0);
  });

  it("a function held by two clients stays until both release it", () => {
    const h = new Harness().client().client("c2");
    h.fromClient("c1", release([FN]));
    expect(h.s.code.functions.has(FN)).toBe(true);
    h.event({ type: "client-left", now: h.tick(), client: "c2" });
    expect(h.s.code.functions.has(FN)).toBe(false);
  });

  it("refuses a function over the byte budget: its tasks err with code-budget saying what to do", () => {
    const h = new Harness({ maxCodeBytes: 4096 }).client();
    h.worker("w1");
    const big = "src:0000000000000000000000000000000000000000000000000000000000000003";
    h.fromClient("c1", define(big, `() => "${"x".repeat(5000)}"`));
    expect(h.s.code.functions.has(big)).toBe(false);
    const [erred] = toClient(submitWith(h, "k", big));
    expect(erred).toMatchObject({
      type: "task-erred",
      key: "k",
      error: { code: "code-budget", name: "CodeBudgetError" },
    });
    const message = (erred as { error: { message: string } }).error.message;
    expect(message).toContain("over its budget of 4.0 KiB (--max-code-bytes)");
    expect(message).toContain("Release futures you no longer need");
    expect(h.s.tasks.size).toBe(0);
    // Control: a function within the budget runs.
    expect(types(toWorker(h.submit("small"), "w1"))).toEqual(["define-function", "compute-task"]);
    // After the client releases it, the refusal is forgotten.
    h.fromClient("c1", release([big]));
    expect(toClient(submitWith(h, "k2", big))).toMatchObject([
      { type: "task-erred", error: { code: "function-error" } },
    ]);
  });

  it("refuses a module over the budget, and frees room when functions are released", () => {
    const h = new Harness({ maxCodeBytes: 8192 }).client();
    h.worker("w1");
    const filler = "src:0000000000000000000000000000000000000000000000000000000000000004";
    h.fromClient("c1", define(filler, `() => "${"y".repeat(5000)}"`));
    h.fromClient("c1", putModule(`export const f = () => "${"z".repeat(5000)}"`));
    h.fromClient("c1", defineModuleFn);
    expect(toClient(submitWith(h, "m1", MOD_FN))).toMatchObject([
      {
        type: "task-erred",
        error: { code: "code-budget", message: expect.stringContaining("module helpers.ts") },
      },
    ]);
    h.fromClient("c1", release([filler]));
    h.fromClient("c1", putModule(`export const f = () => "${"z".repeat(5000)}"`));
    expect(types(toWorker(submitWith(h, "m2", MOD_FN), "w1"))).toEqual([
      "put-module",
      "define-function",
      "compute-task",
    ]);
  });

  it("sends a still-held function again with its module after the module was freed on a worker", () => {
    const h = new Harness().client();
    h.worker("w1");
    h.fromClient("c1", putModule("export const f = () => 1"));
    h.fromClient("c1", defineModuleFn);
    submitWith(h, "m", MOD_FN);
    h.finish("w1", "m");
    h.fromClient("c1", { type: "release-keys", keys: ["m"] });
    // A (misbehaving) client releases the module but keeps the function.
    const out = h.fromClient("c1", release([], [HASH]));
    expect(toWorker(out, "w1")).toEqual([
      { type: "free-code", functions: [MOD_FN], modules: [HASH] },
    ]);
    expect(toClient(submitWith(h, "m2", MOD_FN))).toMatchObject([
      { type: "task-erred", error: { code: "function-error" } },
    ]);
    h.fromClient("c1", putModule("export const f = () => 1"));
    expect(types(toWorker(submitWith(h, "m3", MOD_FN), "w1"))).toEqual([
      "put-module",
      "define-function",
      "compute-task",
    ]);
  });
});
