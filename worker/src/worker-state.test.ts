import { describe, expect, it } from "vitest";
import {
  HANDOFF_MIN_BYTES,
  type TaskAssignment,
  type WorkerCommand,
  type WorkerEvent,
  WorkerState,
} from "./worker-state.js";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

function task(key: string, deps: TaskAssignment["deps"] = []): TaskAssignment {
  return { key, fn: "src:abc", args: bytes(3), deps, priority: 0 };
}

/** A state whose invariants are checked after every event. */
function harness(memoryLimit = 1_000_000, inlineLimit = 100) {
  const state = new WorkerState({ memoryLimit, name: "w-1" });
  const handle = (event: WorkerEvent): WorkerCommand[] => {
    const commands = state.handle(event);
    state.assertInvariants();
    return commands;
  };
  handle({ type: "connected", inlineLimit });
  return { state, handle };
}

const types = (commands: WorkerCommand[]) =>
  commands.map((c) => (c.type === "send" ? `send:${c.message.type}` : c.type));

describe("WorkerState", () => {
  it("executes a task without dependencies at once", () => {
    const { handle } = harness();
    const commands = handle({ type: "task-assigned", task: task("a") });
    expect(commands).toEqual([
      { type: "execute", key: "a", fn: "src:abc", args: bytes(3), deps: new Map(), moved: [] },
    ]);
  });

  it("reports a small result inline and keeps it for peers", () => {
    const { state, handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    const commands = handle({ type: "task-finished", key: "a", data: bytes(10), durationMs: 2 });
    expect(commands).toEqual([
      {
        type: "send",
        message: { type: "task-finished", key: "a", nbytes: 10, durationMs: 2, data: bytes(10) },
      },
    ]);
    expect(state.bytesHeld).toBe(10);
    expect(state.getData(["a", "b"])).toEqual({
      items: [{ key: "a", data: bytes(10) }],
      missing: ["b"],
    });
  });

  it("leaves large results out of task-finished", () => {
    const { handle } = harness(1_000_000, 100);
    handle({ type: "task-assigned", task: task("a") });
    const [command] = handle({ type: "task-finished", key: "a", data: bytes(101), durationMs: 1 });
    expect(command).toEqual({
      type: "send",
      message: { type: "task-finished", key: "a", nbytes: 101, durationMs: 1 },
    });
  });

  it("fetches a dependency from the first holder and runs the task when it arrives", () => {
    const { state, handle } = harness();
    const fetch = handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 5, who: ["ws://p1", "ws://p2"] }]),
    });
    expect(fetch).toEqual([{ type: "fetch", address: "ws://p1", keys: ["a"], nbytes: 5 }]);
    const run = handle({
      type: "dependencies-fetched",
      address: "ws://p1",
      items: [{ key: "a", data: bytes(5) }],
      missing: [],
    });
    expect(types(run)).toEqual(["execute"]);
    expect(run[0]).toMatchObject({ deps: new Map([["a", bytes(5)]]) });
    expect(state.bytesHeld).toBe(5);
    // The fetched copy is dropped once the task is done; the result stays.
    handle({ type: "task-finished", key: "b", data: bytes(7), durationMs: 1 });
    expect(state.has("a")).toBe(false);
    expect(state.bytesHeld).toBe(7);
  });

  it("hands a large fetched dependency that only one task needs to that task", () => {
    const { state, handle } = harness(10 * HANDOFF_MIN_BYTES);
    handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: HANDOFF_MIN_BYTES, who: ["ws://p1"] }]),
    });
    const [run] = handle({
      type: "dependencies-fetched",
      address: "ws://p1",
      items: [{ key: "a", data: bytes(HANDOFF_MIN_BYTES) }],
      missing: [],
    });
    expect(run).toMatchObject({ type: "execute", key: "b", moved: ["a"] });
    expect(state.has("a")).toBe(false);
    expect(state.bytesHeld).toBe(0);
  });

  it("keeps a large fetched dependency that two tasks need", () => {
    const { state, handle } = harness(10 * HANDOFF_MIN_BYTES);
    const dep = [{ key: "a", nbytes: HANDOFF_MIN_BYTES, who: ["ws://p1"] }];
    handle({ type: "task-assigned", task: task("b", dep) });
    handle({ type: "task-assigned", task: task("c", dep) });
    const run = handle({
      type: "dependencies-fetched",
      address: "ws://p1",
      items: [{ key: "a", data: bytes(HANDOFF_MIN_BYTES) }],
      missing: [],
    });
    expect(run.map((c) => (c.type === "execute" ? c.moved : c.type))).toEqual([[], []]);
    expect(state.bytesHeld).toBe(HANDOFF_MIN_BYTES);
  });

  it("fetches a dependency shared by two tasks once", () => {
    const { handle } = harness();
    const dep = [{ key: "a", nbytes: 5, who: ["ws://p1"] }];
    expect(types(handle({ type: "task-assigned", task: task("b", dep) }))).toEqual(["fetch"]);
    expect(handle({ type: "task-assigned", task: task("c", dep) })).toEqual([]);
    const run = handle({
      type: "dependencies-fetched",
      address: "ws://p1",
      items: [{ key: "a", data: bytes(5) }],
      missing: [],
    });
    expect(run.map((c) => (c.type === "execute" ? c.key : c.type))).toEqual(["b", "c"]);
  });

  it("uses a dependency it computed itself without fetching", () => {
    const { handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    handle({ type: "task-finished", key: "a", data: bytes(4), durationMs: 1 });
    const commands = handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 4, who: ["ws://self"] }]),
    });
    expect(types(commands)).toEqual(["execute"]);
  });

  it("tries the next holder when one does not have the dependency", () => {
    const { handle } = harness();
    handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 5, who: ["ws://p1", "ws://p2"] }]),
    });
    const retry = handle({
      type: "dependencies-fetched",
      address: "ws://p1",
      items: [],
      missing: ["a"],
    });
    expect(retry).toEqual([{ type: "fetch", address: "ws://p2", keys: ["a"], nbytes: 5 }]);
  });

  it("reports missing-data and forgets the task when no holder has the dependency", () => {
    const { state, handle } = harness();
    handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 5, who: ["ws://p1", "ws://p2"] }]),
    });
    handle({ type: "dependencies-fetched", address: "ws://p1", items: [], missing: ["a"] });
    const lost = handle({
      type: "dependencies-fetched",
      address: "ws://p2",
      items: [],
      missing: ["a"],
    });
    expect(lost).toEqual([
      {
        type: "send",
        message: { type: "missing-data", key: "b", dependency: "a", from: ["ws://p1", "ws://p2"] },
      },
    ]);
    expect(state.taskCount).toBe(0);
  });

  it("reports missing-data at once for a dependency nobody holds", () => {
    const { state, handle } = harness();
    const commands = handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 5, who: [] }]),
    });
    expect(commands).toEqual([
      { type: "send", message: { type: "missing-data", key: "b", dependency: "a", from: [] } },
    ]);
    expect(state.taskCount).toBe(0);
  });

  it("ignores a reply from a holder it no longer waits on", () => {
    const { state, handle } = harness();
    handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 5, who: ["ws://p1", "ws://p2"] }]),
    });
    handle({ type: "dependencies-fetched", address: "ws://p1", items: [], missing: ["a"] });
    expect(
      handle({
        type: "dependencies-fetched",
        address: "ws://p1",
        items: [{ key: "a", data: bytes(5) }],
        missing: [],
      }),
    ).toEqual([]);
    expect(state.has("a")).toBe(false);
  });

  it("fails a task with memory-limit when its result does not fit", () => {
    const { state, handle } = harness(100);
    handle({ type: "task-assigned", task: task("a") });
    handle({ type: "task-finished", key: "a", data: bytes(60), durationMs: 1 });
    handle({ type: "task-assigned", task: task("b") });
    const [command] = handle({ type: "task-finished", key: "b", data: bytes(50), durationMs: 3 });
    expect(command).toMatchObject({
      type: "send",
      message: {
        type: "task-failed",
        key: "b",
        durationMs: 3,
        error: { code: "memory-limit", name: "MemoryLimitError" },
      },
    });
    const message = (command as { message: { error: { message: string } } }).message.error.message;
    expect(message).toBe(
      "result of b is 50 B but worker w-1 holds 60 B of its 100 B limit: release futures you no longer need, or start workers with a larger --memory-limit",
    );
    expect(state.bytesHeld).toBe(60);
  });

  it("fails the dependents of a fetched dependency that does not fit", () => {
    const { state, handle } = harness(10);
    handle({
      type: "task-assigned",
      task: task("b", [{ key: "a", nbytes: 50, who: ["ws://p1"] }]),
    });
    const [command] = handle({
      type: "dependencies-fetched",
      address: "ws://p1",
      items: [{ key: "a", data: bytes(50) }],
      missing: [],
    });
    expect(command).toMatchObject({
      message: { type: "task-failed", key: "b", error: { code: "memory-limit" } },
    });
    expect(state.bytesHeld).toBe(0);
    expect(state.taskCount).toBe(0);
  });

  it("frees results on free-keys", () => {
    const { state, handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    handle({ type: "task-finished", key: "a", data: bytes(10), durationMs: 1 });
    expect(handle({ type: "free-keys", keys: ["a", "unknown"] })).toEqual([]);
    expect(state.bytesHeld).toBe(0);
  });

  it("cancels a running task that is freed and ignores its late result", () => {
    const { state, handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    expect(handle({ type: "free-keys", keys: ["a"] })).toEqual([{ type: "cancel", key: "a" }]);
    expect(handle({ type: "task-finished", key: "a", data: bytes(1), durationMs: 1 })).toEqual([]);
    expect(state.bytesHeld).toBe(0);
  });

  it("drops a fetching task on free-keys and ignores the fetch reply", () => {
    const { state, handle } = harness();
    handle({ type: "task-assigned", task: task("b", [{ key: "a", nbytes: 5, who: ["ws://p1"] }]) });
    expect(handle({ type: "free-keys", keys: ["b"] })).toEqual([]);
    expect(
      handle({
        type: "dependencies-fetched",
        address: "ws://p1",
        items: [{ key: "a", data: bytes(5) }],
        missing: [],
      }),
    ).toEqual([]);
    expect(state.bytesHeld).toBe(0);
  });

  it("keeps a freed result a running local task reads until that task is done", () => {
    const { state, handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    handle({ type: "task-finished", key: "a", data: bytes(10), durationMs: 1 });
    handle({ type: "task-assigned", task: task("b", [{ key: "a", nbytes: 10, who: [] }]) });
    handle({ type: "free-keys", keys: ["a"] });
    expect(state.has("a")).toBe(true);
    handle({ type: "task-finished", key: "b", data: bytes(1), durationMs: 1 });
    expect(state.has("a")).toBe(false);
  });

  it("stores scattered data and reports keys-stored", () => {
    const { state, handle } = harness();
    const commands = handle({ type: "data-put", items: [{ key: "s", data: bytes(8) }] });
    expect(commands).toEqual([
      { type: "send", message: { type: "keys-stored", keys: [{ key: "s", nbytes: 8 }] } },
    ]);
    expect(state.bytesHeld).toBe(8);
  });

  it("runs a task waiting on a fetch when the data is put instead", () => {
    const { handle } = harness();
    handle({ type: "task-assigned", task: task("b", [{ key: "s", nbytes: 8, who: ["ws://p1"] }]) });
    expect(types(handle({ type: "data-put", items: [{ key: "s", data: bytes(8) }] }))).toEqual([
      "send:keys-stored",
      "execute",
    ]);
  });

  it("re-reports a result it already holds when assigned the task again", () => {
    const { handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    handle({ type: "task-finished", key: "a", data: bytes(2), durationMs: 1 });
    expect(types(handle({ type: "task-assigned", task: task("a") }))).toEqual([
      "send:task-finished",
    ]);
  });

  it("ignores a duplicate assignment of a task it is running", () => {
    const { handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    expect(handle({ type: "task-assigned", task: task("a") })).toEqual([]);
  });

  it("forwards task failures", () => {
    const { handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    const error = {
      name: "TypeError",
      message: "x is not a function",
      stack: "TypeError: x\n    at f",
    };
    expect(handle({ type: "task-failed", key: "a", error, durationMs: 4 })).toEqual([
      { type: "send", message: { type: "task-failed", key: "a", error, durationMs: 4 } },
    ]);
  });

  it("drops everything and cancels running tasks when the scheduler is lost", () => {
    const { state, handle } = harness();
    handle({ type: "task-assigned", task: task("a") });
    handle({ type: "task-finished", key: "a", data: bytes(10), durationMs: 1 });
    handle({ type: "task-assigned", task: task("b") });
    handle({ type: "task-assigned", task: task("c", [{ key: "x", nbytes: 1, who: ["ws://p1"] }]) });
    expect(handle({ type: "scheduler-lost" })).toEqual([{ type: "cancel-all" }]);
    expect(state.bytesHeld).toBe(0);
    expect(state.taskCount).toBe(0);
    expect(handle({ type: "task-finished", key: "b", data: bytes(1), durationMs: 1 })).toEqual([]);
  });

  it("keeps its bookkeeping consistent through a random sequence of events", () => {
    // A small seeded generator: the same sequence every run.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const { handle } = harness(500);
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const pick = () => keys[Math.floor(random() * keys.length)]!;
    const peers = ["ws://p1", "ws://p2"];
    for (let step = 0; step < 3000; step++) {
      const r = random();
      if (r < 0.3) {
        const deps =
          random() < 0.5 ? [] : [{ key: pick(), nbytes: 5, who: random() < 0.9 ? [...peers] : [] }];
        handle({
          type: "task-assigned",
          task: task(
            pick(),
            deps.filter((d) => d.key !== "none"),
          ),
        });
      } else if (r < 0.5) {
        const address = peers[Math.floor(random() * 2)]!;
        const key = pick();
        handle(
          random() < 0.6
            ? {
                type: "dependencies-fetched",
                address,
                items: [{ key, data: bytes(Math.floor(random() * 80)) }],
                missing: [],
              }
            : { type: "dependencies-fetched", address, items: [], missing: [key] },
        );
      } else if (r < 0.7) {
        handle({
          type: "task-finished",
          key: pick(),
          data: bytes(Math.floor(random() * 120)),
          durationMs: 1,
        });
      } else if (r < 0.75) {
        handle({
          type: "task-failed",
          key: pick(),
          error: { name: "Error", message: "x" },
          durationMs: 1,
        });
      } else if (r < 0.9) {
        handle({ type: "free-keys", keys: [pick(), pick()] });
      } else if (r < 0.98) {
        handle({
          type: "data-put",
          items: [{ key: pick(), data: bytes(Math.floor(random() * 30)) }],
        });
      } else {
        handle({ type: "scheduler-lost" });
      }
    }
  });
});
