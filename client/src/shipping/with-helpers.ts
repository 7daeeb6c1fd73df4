/**
 * `uses`: helpers that travel with a shipped function. `withHelpers(fn, { fit, sleep,
 * SCALE })` composes one self-contained function that binds each helper (a function's
 * source, or a plain-data constant written as a literal) as a `const` and calls `fn`:
 *
 *   function fitOne(...args) {
 *     const fit = (<fit's source>);
 *     const SCALE = 2.5;
 *     return (<fitOne's source>)(...args);
 *   }
 *
 * The usual free-variable check then runs on the whole, so a helper that uses something
 * not listed is reported by name. Composed functions are cached per (fn, helpers), so the
 * same submit twice ships one definition.
 */
import { LaunchbayError } from "../errors.js";
import { functionExpressionSource } from "./function-source.js";
import { MODULE_FUNCTION } from "./shipped-function.js";

type AnyFunction = (...args: never[]) => unknown;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Helper constants are written into the function's source: keep them small. */
export const MAX_CONSTANT_SOURCE = 256 * 1024;
const MAX_DEPTH = 32;

const cache = new WeakMap<AnyFunction, Map<string, AnyFunction>>();

/**
 * `fn` with its helpers bound: a self-contained function (callable here too) that any
 * step accepts — submit, map, and collection steps such as `bag.map(...)`.
 */
export function withHelpers<F extends AnyFunction>(fn: F, uses: Record<string, unknown>): F;
export function withHelpers(fn: AnyFunction, uses: Record<string, unknown>): AnyFunction {
  if (typeof fn !== "function") {
    throw unusable(`withHelpers takes a function first, got ${fn === null ? "null" : typeof fn}`);
  }
  if (uses === null || typeof uses !== "object" || Array.isArray(uses)) {
    throw unusable("the helpers must be an object, e.g. withHelpers(fn, { fit, SCALE })");
  }
  if ((fn as { [MODULE_FUNCTION]?: unknown })[MODULE_FUNCTION]) {
    throw unusable(
      "the submitted function comes from an uploaded module, which already has its imports: submit it without `uses`",
    );
  }
  const main = functionExpressionSource(fn).source;
  const lines: string[] = [];
  for (const [name, value] of Object.entries(uses)) {
    if (!IDENTIFIER.test(name) || !isBindable(name)) {
      throw unusable(
        `\`${name}\` is not a variable name a function can use: name helpers like variables, { uses: { fit, SCALE } }`,
      );
    }
    lines.push(`  const ${name} = ${helperSource(name, value)};`);
  }
  const body = lines.join("\n");
  let byHelpers = cache.get(fn);
  const known = byHelpers?.get(body);
  if (known) return known;
  const name = IDENTIFIER.test(fn.name) && isBindable(fn.name) ? fn.name : "task";
  const source = `function ${name}(...$lb_args) {\n${body}\n  return (${main}\n  )(...$lb_args);\n}`;
  let composed: AnyFunction;
  try {
    composed = new Function(`return (${source}\n);`)() as AnyFunction;
  } catch (error) {
    throw unusable(
      `the helpers could not be combined with the function: ${(error as Error).message}`,
    );
  }
  if (!byHelpers) {
    byHelpers = new Map();
    cache.set(fn, byHelpers);
  }
  byHelpers.set(body, composed);
  return composed;
}

function helperSource(name: string, value: unknown): string {
  if (typeof value === "function") {
    if ((value as { [MODULE_FUNCTION]?: unknown })[MODULE_FUNCTION]) {
      throw unusable(
        `helper \`${name}\` comes from an uploaded module; call it from a task as the module's function (client.submit(mod.fn("${name}"), ...)) instead of listing it in uses`,
      );
    }
    return `(${functionExpressionSource(value as AnyFunction).source}\n  )`;
  }
  const literal = constantSource(value, name, 0);
  if (literal.length > MAX_CONSTANT_SOURCE) {
    throw unusable(
      `helper constant \`${name}\` is ${literal.length} characters as source (more than ${MAX_CONSTANT_SOURCE}): ` +
        `scatter it once and pass the future as an argument, const ${name}F = client.scatter(${name})`,
    );
  }
  return literal;
}

/** A JavaScript literal for plain data: numbers, strings, booleans, null, undefined, bigints, arrays, plain objects. */
function constantSource(value: unknown, name: string, depth: number): string {
  if (depth > MAX_DEPTH)
    throw unusable(`helper constant \`${name}\` is nested more than ${MAX_DEPTH} deep`);
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "boolean":
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "number":
      if (Number.isNaN(value)) return "NaN";
      if (Object.is(value, -0)) return "-0";
      if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
      return String(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        return `[${Array.from(value, (v) => constantSource(v, name, depth + 1)).join(", ")}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        const entries = Object.entries(value as Record<string, unknown>).map(
          ([k, v]) => `${JSON.stringify(k)}: ${constantSource(v, name, depth + 1)}`,
        );
        return `{ ${entries.join(", ")} }`;
      }
      break;
    }
  }
  const kind =
    typeof value === "object"
      ? (Object.getPrototypeOf(value)?.constructor?.name ?? "object")
      : typeof value;
  throw unusable(
    `helper \`${name}\` holds a ${kind}; uses takes functions and plain data (numbers, strings, booleans, ` +
      "arrays, plain objects): pass other values as arguments, or scatter them",
  );
}

function isBindable(name: string): boolean {
  try {
    new Function(`"use strict"; let ${name};`);
    return !["arguments", "eval", "$lb_args"].includes(name);
  } catch {
    return false;
  }
}

function unusable(message: string): LaunchbayError {
  return new LaunchbayError("invalid-option", `uses: ${message}`);
}
