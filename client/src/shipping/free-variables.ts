/**
 * Finds the identifiers a function expression uses without declaring them (its free
 * variables), minus the globals every worker has. Uses eslint-scope on acorn's AST, so
 * shadowing, destructuring, hoisting, closures and `arguments` are handled exactly.
 * An arrow function's `this` is also free (it is the notebook's `this`).
 */
import type { Expression, Node } from "acorn";
import { analyze } from "eslint-scope";
import type { Node as EstreeNode } from "estree";
import { WORKER_GLOBALS } from "./worker-globals.js";

export function freeVariables(ast: Node, expression: Expression): string[] {
  const scopes = analyze(ast as unknown as EstreeNode, { ecmaVersion: 2022, sourceType: "script" });
  const free = new Set<string>();
  for (const reference of scopes.globalScope?.through ?? []) {
    const name = reference.identifier.name;
    if (!WORKER_GLOBALS.has(name)) free.add(name);
  }
  if (expression.type === "ArrowFunctionExpression" && usesLexicalThis(expression.body))
    free.add("this");
  return [...free].sort();
}

/** Whether `node` uses `this` outside any non-arrow function or class (i.e. the enclosing `this`). */
function usesLexicalThis(node: unknown): boolean {
  if (node === null || typeof node !== "object") return false;
  if (Array.isArray(node)) return node.some(usesLexicalThis);
  const type = (node as { type?: unknown }).type;
  if (typeof type !== "string") return false;
  if (type === "ThisExpression" || type === "Super") return true;
  if (type === "FunctionExpression" || type === "FunctionDeclaration") return false;
  if (type === "ClassExpression" || type === "ClassDeclaration") {
    // `extends` and computed keys are evaluated outside the class's own `this`.
    const cls = node as {
      superClass?: unknown;
      body: { body: { computed?: boolean; key?: unknown }[] };
    };
    return (
      usesLexicalThis(cls.superClass) ||
      cls.body.body.some((m) => m.computed === true && usesLexicalThis(m.key))
    );
  }
  for (const key in node) {
    if (key === "type" || key === "start" || key === "end" || key === "loc" || key === "range")
      continue;
    const child = (node as Record<string, unknown>)[key];
    if (typeof child === "object" && child !== null && usesLexicalThis(child)) return true;
  }
  return false;
}
