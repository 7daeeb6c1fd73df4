import { describe, expect, it } from "vitest";
import { RemoteTaskError } from "../errors.js";
import { AsCompleted } from "./as-completed.js";
import { Future, type FutureOwner } from "./future.js";
import { KeyState } from "./key-state.js";
import { waitFor } from "./wait.js";

/** Futures over bare key states; results are the key's name, errors come from the state. */
const owner: FutureOwner = {
  resultOf: async (state) => {
    await state.whenDone();
    if (state.status !== "finished") throw state.error;
    return state.key;
  },
  cancelStates: () => {},
  dropFuture: () => {},
};

function futures(...keys: string[]): { fs: Future<string>[]; states: KeyState[] } {
  const states = keys.map((k) => new KeyState(k, 1));
  return { fs: states.map((s) => new Future<string>(s, owner)), states };
}

describe("waitFor", () => {
  it("resolves once all futures are done, erred ones included", async () => {
    const { fs, states } = futures("a", "b");
    const waiting = waitFor(fs);
    states[0]!.finish(1, undefined);
    states[1]!.fail("error", new RemoteTaskError("b", { name: "Error", message: "x" }));
    const { done, notDone } = await waiting;
    expect(done).toEqual(fs);
    expect(notDone).toEqual([]);
  });

  it("returns at the first completion with FIRST_COMPLETED", async () => {
    const { fs, states } = futures("a", "b", "c");
    const waiting = waitFor(fs, { returnWhen: "FIRST_COMPLETED" });
    states[2]!.finish(1, undefined);
    const { done, notDone } = await waiting;
    expect(done.map((f) => f.key)).toEqual(["c"]);
    expect(notDone.map((f) => f.key)).toEqual(["a", "b"]);
  });

  it("returns at once when some are already done with FIRST_COMPLETED", async () => {
    const { fs, states } = futures("a", "b");
    states[1]!.finish(1, undefined);
    expect((await waitFor(fs, { returnWhen: "FIRST_COMPLETED" })).done.map((f) => f.key)).toEqual([
      "b",
    ]);
    expect((await waitFor([])).done).toEqual([]);
  });

  it("rejects with a timeout error that counts the futures still pending", async () => {
    const { fs, states } = futures("a", "b");
    states[0]!.finish(1, undefined);
    await expect(waitFor(fs, { timeoutMs: 10 })).rejects.toThrow(
      /timed out after 10 ms with 1 of 2 futures not done \(1 done\)/,
    );
  });
});

describe("AsCompleted", () => {
  it("yields futures in the order they complete, including ones added while iterating", async () => {
    const { fs, states } = futures("a", "b", "c");
    const ac = new AsCompleted<string>(fs.slice(0, 2), false);
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const f of ac) {
        seen.push(f.key);
        if (f.key === "b") {
          ac.add(fs[2]!);
          states[2]!.finish(1, undefined);
        }
        if (seen.length === 1) states[0]!.finish(1, undefined);
      }
    })();
    states[1]!.finish(1, undefined);
    await iterating;
    expect(seen).toEqual(["b", "c", "a"]);
  });

  it("yields [future, value] pairs with results, and throws a task's error", async () => {
    const { fs, states } = futures("ok", "bad");
    states[0]!.finish(1, undefined);
    states[1]!.fail("error", new RemoteTaskError("bad", { name: "Error", message: "boom" }));
    const pairs: [string, string][] = [];
    const run = async () => {
      for await (const [f, value] of new AsCompleted<string, [Future<string>, string]>(fs, true)) {
        pairs.push([f.key, value]);
      }
    };
    await expect(run()).rejects.toThrow(/task bad failed: Error: boom/);
    expect(pairs).toEqual([["ok", "ok"]]);
  });
});
