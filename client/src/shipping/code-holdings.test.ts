import { describe, expect, it } from "vitest";
import { KeyState } from "../futures/key-state.js";
import { CodeHoldings } from "./code-holdings.js";
import type { ModuleRef, ShippedFunction } from "./shipped-function.js";

const module: ModuleRef = { hash: "c".repeat(64), name: "m.ts", code: "export const f = () => 1" };
const plain: ShippedFunction = {
  id: "src:1",
  keyPrefix: "inc",
  definition: { type: "define-function", id: "src:1", name: "inc", source: "(x) => x + 1" },
};
const fromModule: ShippedFunction = {
  id: `mod:${module.hash}#f`,
  keyPrefix: "f",
  definition: {
    type: "define-function",
    id: `mod:${module.hash}#f`,
    name: "f",
    module: { hash: module.hash, export: "f" },
  },
  module,
};

function setup() {
  const sent: string[] = [];
  let pending = 0;
  const code = new CodeHoldings({
    defineFunction: (s) => sent.push(`define ${s.id}`),
    putModule: (m) => sent.push(`module ${m.name}`),
    onReleasePending: () => pending++,
  });
  return { code, sent, pending: () => pending };
}

describe("code holdings", () => {
  it("sends a function once while keys use it, and releases it with the last key", () => {
    const { code, sent, pending } = setup();
    const a = new KeyState("a", 1);
    const b = new KeyState("b", 1);
    code.use(a, plain);
    code.use(b, plain);
    expect(sent).toEqual(["define src:1"]);
    code.forget(a);
    expect(code.takeReleases()).toBeUndefined();
    code.forget(b);
    expect(pending()).toBe(1);
    expect(code.takeReleases()).toEqual({ functions: ["src:1"], modules: [] });
    code.use(new KeyState("c", 1), plain);
    expect(sent).toEqual(["define src:1", "define src:1"]);
  });

  it("holds a module while its RemoteModule is pinned or one of its functions is held", () => {
    const { code, sent } = setup();
    code.pinModule(module);
    const k = new KeyState("k", 1);
    code.use(k, fromModule);
    expect(sent).toEqual(["module m.ts", `define ${fromModule.id}`]);
    code.forget(k);
    expect(code.takeReleases()).toEqual({ functions: [fromModule.id], modules: [] });
    code.unpinModule(module.hash);
    expect(code.takeReleases()).toEqual({ functions: [], modules: [module.hash] });
  });

  it("sends a refused function and its module again on next use", () => {
    const { code, sent } = setup();
    const k = new KeyState("k", 1);
    code.use(k, fromModule);
    code.resend(k);
    code.use(new KeyState("k2", 1), fromModule);
    expect(sent).toEqual([
      "module m.ts",
      `define ${fromModule.id}`,
      "module m.ts",
      `define ${fromModule.id}`,
    ]);
  });

  it("forgets everything of an ended session but keeps pinned modules (unsent)", () => {
    const { code, sent } = setup();
    code.pinModule(module);
    const k = new KeyState("k", 1);
    code.use(k, plain);
    code.endSession();
    expect(code.heldFunctions).toBe(0);
    expect(code.heldModules).toBe(1);
    code.forget(k); // a key of the old session: nothing to release
    expect(code.takeReleases()).toBeUndefined();
    code.use(new KeyState("k", 2), fromModule);
    expect(sent.slice(-2)).toEqual(["module m.ts", `define ${fromModule.id}`]);
  });
});
