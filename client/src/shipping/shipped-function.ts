/**
 * What travels for a function: its `define-function` message (content-addressed id) and,
 * for functions exported by an uploaded module, the module to `put-module` first.
 * The analysis (toString, parse, free variables, hash) runs once per function object
 * (WeakMap cache), so `client.map` over many items pays for it once.
 */
import { createHash } from "node:crypto";
import type { FunctionDefinition } from "@launchbay/protocol";
import { FreeVariableError, LaunchbayError } from "../errors.js";
import { freeVariables } from "./free-variables.js";
import { functionExpressionSource } from "./function-source.js";

export interface ModuleRef {
  hash: string;
  name: string;
  code: string;
}

export interface ShippedFunction {
  /** `src:<sha256 of source>` or `mod:<module hash>#<export>`. */
  id: string;
  /** Sanitised name, used as the prefix of task keys. */
  keyPrefix: string;
  definition: FunctionDefinition;
  module?: ModuleRef;
}

/** Marks functions returned by `RemoteModule.fn()`: they run the module's export, not their own source. */
export const MODULE_FUNCTION = Symbol.for("launchbay.module-function");

type AnyFunction = (...args: never[]) => unknown;
const cache = new WeakMap<AnyFunction, ShippedFunction | LaunchbayError>();

/** Analyses `fn` (once per function object) or throws why it cannot be shipped. */
export function shipFunction(fn: AnyFunction): ShippedFunction {
  let shipped = cache.get(fn);
  if (shipped === undefined) {
    try {
      shipped = analyseFunction(fn);
    } catch (error) {
      if (!(error instanceof LaunchbayError)) throw error;
      shipped = error;
    }
    cache.set(fn, shipped);
  }
  if (shipped instanceof Error) throw shipped;
  return shipped;
}

function analyseFunction(fn: AnyFunction): ShippedFunction {
  const moduleFunction = (fn as { [MODULE_FUNCTION]?: ShippedFunction })[MODULE_FUNCTION];
  if (moduleFunction) return moduleFunction;
  const { source, ast, expression } = functionExpressionSource(fn);
  const free = freeVariables(ast, expression);
  if (free.length > 0) throw new FreeVariableError(free, fn.name);
  const id = `src:${createHash("sha256").update(source).digest("hex")}`;
  const name = fn.name || "task";
  return {
    id,
    keyPrefix: keyPrefix(name),
    definition: { type: "define-function", id, name, source },
  };
}

/** A key prefix from a function name: word characters only, at most 64 of them. */
export function keyPrefix(name: string): string {
  const cleaned = name.replace(/[^\w.$-]+/g, "_").slice(0, 64);
  return cleaned || "task";
}
