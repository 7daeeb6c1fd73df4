import { describe, expect, it } from "vitest";
import { FreeVariableError, LaunchbayError } from "../errors.js";
import { keyPrefix, shipFunction } from "./shipped-function.js";

function freeOf(fn: (...args: never[]) => unknown): string[] {
  try {
    shipFunction(fn);
    return [];
  } catch (error) {
    if (error instanceof FreeVariableError) return [...error.variables];
    throw error;
  }
}

const data = [1, 2, 3];
const scale = 10;
function helper(x: number): number {
  return x + 1;
}

describe("free-variable analysis", () => {
  it("accepts self-contained functions that use only their parameters, locals and worker globals", () => {
    expect(freeOf((xs: number[]) => Math.max(...xs.map((x) => x * 2)))).toEqual([]);
    expect(
      freeOf((text: string) => {
        const encoded = new TextEncoder().encode(text);
        const copy = structuredClone({ n: encoded.length });
        console.log(JSON.stringify(copy), Buffer.from(encoded).toString("hex"), performance.now());
        return new Map([[text, copy]]);
      }),
    ).toEqual([]);
  });

  it("names a variable captured from the enclosing scope", () => {
    expect(freeOf(() => data.length)).toEqual(["data"]);
  });

  it("names every captured variable once, sorted", () => {
    expect(freeOf((x: number) => helper(x) * scale + helper(data[0]!))).toEqual([
      "data",
      "helper",
      "scale",
    ]);
  });

  it("follows shadowing: a parameter or local with the same name is not free", () => {
    expect(freeOf((data: number[]) => data.length)).toEqual([]);
    expect(
      freeOf(() => {
        const scale = 2;
        return scale;
      }),
    ).toEqual([]);
    expect(
      freeOf((items: number[]) => {
        let total = 0;
        for (const data of items) total += data;
        return total;
      }),
    ).toEqual([]);
  });

  it("handles destructuring, default parameters and nested closures", () => {
    expect(
      freeOf(({ a, b = 2 }: { a: number; b?: number }, [c] = [3]) => [1].map((x) => x + a + b + c)),
    ).toEqual([]);
    expect(freeOf((n: number = scale) => n)).toEqual(["scale"]);
    expect(freeOf(() => () => () => data)).toEqual(["data"]);
  });

  it("handles functions that declare helpers and recursion inside themselves", () => {
    const fib = function fib(n: number): number {
      return n < 2 ? n : fib(n - 1) + fib(n - 2);
    };
    expect(freeOf(fib)).toEqual([]);
    expect(
      freeOf((n: number) => {
        function inner(k: number): number {
          return k <= 0 ? 0 : k + inner(k - 1);
        }
        return inner(n);
      }),
    ).toEqual([]);
  });

  it("treats `arguments` in functions as their own and `this` in arrow functions as captured", () => {
    expect(
      freeOf(function sum() {
        // biome-ignore lint/complexity/noArguments: the analysis must accept `arguments`
        return Array.from(arguments).length;
      }),
    ).toEqual([]);
    const self = {
      n: 1,
      f(this: { n: number }) {
        return () => this.n;
      },
    };
    expect(freeOf(self.f())).toEqual(["this"]);
  });

  it("rejects require and says to use a dynamic import or a module", () => {
    try {
      shipFunction(() => require("node:fs"));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FreeVariableError);
      expect((error as Error).message).toMatch(
        /`require` does not exist in workers: use `await import\("node:fs"\)`/,
      );
    }
    // Built with eval: the test runner rewrites import() in this file's own functions.
    // biome-ignore lint/security/noGlobalEval: see above
    const usesImport = globalThis.eval('(async () => (await import("node:os")).cpus().length)');
    expect(freeOf(usesImport)).toEqual([]);
  });

  it("explains what to do in the error message", () => {
    try {
      shipFunction(function total() {
        return data.length;
      });
      expect.unreachable();
    } catch (error) {
      const e = error as FreeVariableError;
      expect(e.code).toBe("free-variable");
      expect(e.message).toBe(
        "function `total` uses `data` from the notebook, but a function sent to workers cannot use variables from " +
          "the notebook: pass it as an argument (client.submit(fn, data)), list helpers in uses " +
          "(client.submitWith({ uses: { data } }, fn, ...)), or put helpers in a module and ship it " +
          "with client.uploadModule(path)",
      );
    }
  });

  it("analyses a function object once and gives the same id for the same source", () => {
    const fn = (x: number) => x + 1;
    const first = shipFunction(fn);
    expect(shipFunction(fn)).toBe(first);
    expect(first.id).toMatch(/^src:[0-9a-f]{64}$/);
    expect(shipFunction((x: number) => x + 1).id).toBe(first.id);
    expect(first.definition).toEqual({
      type: "define-function",
      id: first.id,
      name: "fn",
      source: "(x) => x + 1",
    });
  });

  it("caches rejections too, throwing the same error each time", () => {
    const bad = () => data;
    let first: unknown;
    try {
      shipFunction(bad);
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(LaunchbayError);
    expect(() => shipFunction(bad)).toThrow(first as Error);
  });
});

describe("keyPrefix", () => {
  it("keeps word characters and falls back to task", () => {
    expect(keyPrefix("slowAdd")).toBe("slowAdd");
    expect(keyPrefix("bound f")).toBe("bound_f");
    expect(keyPrefix("")).toBe("task");
    expect(keyPrefix("x".repeat(100))).toHaveLength(64);
  });
});
