/**
 * Checks a function a collection operation was given, with the same analysis `submit`
 * uses, BEFORE it is composed into a task function: a free variable is reported with the
 * user's function and variable names, not the wrapper's.
 */
import { FreeVariableError } from "../errors.js";
import { type ModuleRef, shipFunction } from "../shipping/shipped-function.js";
import { CollectionError } from "./errors.js";

/** A user function ready to embed in a task function: its name and expression source. */
export interface UserFunction {
  readonly name: string;
  /** A JavaScript expression that evaluates to the function. */
  readonly source: string;
  /**
   * Set for an export of an uploaded module: `source` then reads it from `$lb_module`, the
   * module's namespace, and the step runs through the module (see module-steps.ts).
   */
  readonly module?: ModuleRef;
}

const checked = new WeakMap<object, UserFunction>();

/**
 * Validates `fn` (the argument of `operation`, e.g. "Bag.map") and returns its source.
 * `extraArgs` gives the call that forwards extra arguments, `$V` standing for the variable
 * (e.g. "bag.map((item, $V) => ..., $V)"), for
 * the hint a free-variable error gets.
 */
export function userFunction(fn: unknown, operation: string, extraArgs?: string): UserFunction {
  if (typeof fn !== "function") {
    throw new CollectionError(
      "invalid-argument",
      `${operation} expects a function, got ${describeValue(fn)}: pass e.g. (x) => x * 2`,
    );
  }
  const cached = checked.get(fn);
  if (cached) return cached;
  let shipped: ReturnType<typeof shipFunction>;
  try {
    shipped = shipFunction(fn as (...args: never[]) => unknown);
  } catch (error) {
    // A FreeVariableError names the user's variable; add how a collection step passes it.
    if (error instanceof FreeVariableError && extraArgs) {
      const hinted = new FreeVariableError(error.variables, fn.name);
      const first = error.variables.find((v) => v !== "this" && v !== "require");
      if (first) {
        hinted.message += `. ${operation} passes extra arguments on to the function: ${extraArgs.replaceAll("$V", first)}`;
      }
      throw hinted;
    }
    throw error;
  }
  // A function has its source, or is an export of an uploaded module (read from `$lb_module`).
  const { name, source, module } = shipped.definition;
  const result: UserFunction =
    source !== undefined
      ? { name, source }
      : {
          name,
          source: `$lb_module[${JSON.stringify(module!.export)}]`,
          module: shipped.module!,
        };
  checked.set(fn, result);
  return result;
}

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value} ${String(value)}`;
}
