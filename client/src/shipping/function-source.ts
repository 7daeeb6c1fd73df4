/**
 * Turns a function object into a JavaScript EXPRESSION that evaluates to an equivalent
 * function on a worker (`(0, eval)("(" + source + ")")`): arrow functions, `function`
 * declarations/expressions, async functions and generators are already expressions;
 * method shorthand (`name(a) { ... }`, `async *name() {}`, `[computed]() {}`) is rewritten
 * to `function name(a) { ... }`. Native, bound and class functions are refused.
 */
import { type Expression, type Node, parse } from "acorn";
import { LaunchbayError } from "../errors.js";

export interface FunctionExpressionSource {
  /** The expression, and its parsed form (`(expression)` as a script). */
  source: string;
  ast: Node;
  expression: Expression;
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

export function functionExpressionSource(
  fn: (...args: never[]) => unknown,
): FunctionExpressionSource {
  if (typeof fn !== "function") {
    throw new LaunchbayError(
      "unsupported-function",
      `expected a function to run on the workers, got ${describe(fn)}`,
    );
  }
  const text = Function.prototype.toString.call(fn);
  const label = fn.name ? `function \`${fn.name}\`` : "this function";
  if (NATIVE.test(text)) {
    if (fn.name.startsWith("bound ")) {
      throw new LaunchbayError(
        "unsupported-function",
        `${label} is a bound function, whose source JavaScript does not expose, so it cannot be sent to workers: ` +
          "submit the original function and pass the bound values as arguments",
      );
    }
    throw new LaunchbayError(
      "unsupported-function",
      `${label} is a built-in (native) function and cannot be sent to workers: ` +
        `wrap it, e.g. client.submit((x) => ${fn.name || "fn"}(x), x)`,
    );
  }
  if (/^class\b/.test(text)) {
    throw new LaunchbayError(
      "unsupported-function",
      `${label} is a class; workers call functions, not constructors: submit a function that builds the instance, e.g. (...args) => new ${fn.name || "C"}(...args) in a shipped module`,
    );
  }
  const direct = tryParseExpression(text);
  if (direct && isFunctionNode(direct.expression)) return { source: text, ...direct };
  const rewritten = rewriteMethod(text, fn.name);
  if (rewritten) return rewritten;
  throw new LaunchbayError(
    "unsupported-function",
    `cannot turn the source of ${label} into a standalone function expression ` +
      `(it starts with ${JSON.stringify(text.slice(0, 60))}): submit an arrow function or a function expression`,
  );
}

function tryParseExpression(source: string): { ast: Node; expression: Expression } | undefined {
  let ast: ReturnType<typeof parse>;
  try {
    ast = parse(`(${source})`, { ecmaVersion: "latest", sourceType: "script", ranges: true });
  } catch {
    return undefined;
  }
  const statement = ast.body[0];
  if (ast.body.length !== 1 || statement?.type !== "ExpressionStatement") return undefined;
  return { ast, expression: statement.expression };
}

function isFunctionNode(node: Expression): boolean {
  return node.type === "ArrowFunctionExpression" || node.type === "FunctionExpression";
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `name(a) {...}` → `function name(a) {...}` (anonymous when the name is not an identifier). */
function rewriteMethod(text: string, name: string): FunctionExpressionSource | undefined {
  const prefix = "({";
  let ast: ReturnType<typeof parse>;
  try {
    ast = parse(`${prefix}${text}})`, {
      ecmaVersion: "latest",
      sourceType: "script",
      ranges: true,
    });
  } catch {
    return undefined;
  }
  const statement = ast.body[0];
  if (
    statement?.type !== "ExpressionStatement" ||
    statement.expression.type !== "ObjectExpression"
  ) {
    return undefined;
  }
  const property = statement.expression.properties[0];
  if (
    statement.expression.properties.length !== 1 ||
    property?.type !== "Property" ||
    property.kind !== "init" ||
    !property.method ||
    property.value.type !== "FunctionExpression"
  ) {
    return undefined;
  }
  const value = property.value;
  const rest = text.slice(value.start - prefix.length);
  const head = `${value.async ? "async " : ""}function${value.generator ? "*" : ""}`;
  for (const candidate of IDENTIFIER.test(name) ? [`${head} ${name}`, head] : [head]) {
    const source = `${candidate}${rest}`;
    const parsed = tryParseExpression(source);
    if (parsed && isFunctionNode(parsed.expression)) return { source, ...parsed };
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return `a ${typeof value}`;
}
