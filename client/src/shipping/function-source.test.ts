import { describe, expect, it } from "vitest";
import { LaunchbayError } from "../errors.js";
import { functionExpressionSource } from "./function-source.js";

/** Evaluates a shipped expression the way a worker does. */
function evaluate(source: string): (...args: unknown[]) => unknown {
  // biome-ignore lint/security/noGlobalEval: evaluating shipped source is what workers do
  return globalThis.eval(`(${source})`);
}

describe("functionExpressionSource", () => {
  it("keeps arrow functions, function expressions and async functions as they are", () => {
    const arrow = (a: number, b: number) => a + b;
    const expression = function add(a: number, b: number) {
      return a + b;
    };
    const asyncArrow = async (a: number) => a * 2;
    expect(evaluate(functionExpressionSource(arrow).source)(1, 2)).toBe(3);
    expect(evaluate(functionExpressionSource(expression).source)(1, 2)).toBe(3);
    expect(functionExpressionSource(asyncArrow).source.startsWith("async")).toBe(true);
  });

  it("turns a function declaration into an expression that evaluates to it", () => {
    function declared(x: number) {
      return x + 1;
    }
    expect(evaluate(functionExpressionSource(declared).source)(41)).toBe(42);
  });

  it("rewrites method shorthand into a function expression with the method's name", () => {
    const object = {
      double(x: number) {
        return x * 2;
      },
      async later(x: number) {
        return x;
      },
      *count(n: number) {
        for (let i = 0; i < n; i++) yield i;
      },
    };
    const double = functionExpressionSource(object.double).source;
    expect(double).toMatch(/^function double\(/);
    expect(evaluate(double)(21)).toBe(42);
    expect(functionExpressionSource(object.later).source).toMatch(/^async function later\(/);
    const count = evaluate(functionExpressionSource(object.count).source) as (
      n: number,
    ) => Iterable<number>;
    expect([...count(3)]).toEqual([0, 1, 2]);
  });

  it("rewrites computed and keyword-named methods into anonymous functions", () => {
    const key = "computed name";
    const object = {
      [key](x: number) {
        return x + 1;
      },
      delete(x: number) {
        return x - 1;
      },
    };
    expect(evaluate(functionExpressionSource(object[key]).source)(1)).toBe(2);
    expect(evaluate(functionExpressionSource(object.delete).source)(1)).toBe(0);
  });

  it("refuses native functions with a message that suggests wrapping them", () => {
    expect(() => functionExpressionSource(Math.max)).toThrow(
      /built-in \(native\) function.*wrap it/,
    );
  });

  it("refuses bound functions and says to pass the bound values as arguments", () => {
    const bound = ((a: number, b: number) => a + b).bind(null, 1);
    expect(() => functionExpressionSource(bound)).toThrow(
      /bound function.*pass the bound values as arguments/,
    );
  });

  it("refuses classes", () => {
    class Point {}
    expect(() => functionExpressionSource(Point as never)).toThrow(/is a class/);
  });

  it("refuses values that are not functions, with the unsupported-function code", () => {
    try {
      functionExpressionSource(42 as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LaunchbayError);
      expect((error as LaunchbayError).code).toBe("unsupported-function");
      expect((error as Error).message).toMatch(
        /expected a function to run on the workers, got a number/,
      );
    }
  });
});
