/**
 * Every error the launchbay client throws: one class per situation a caller may want to
 * catch, each with a stable `code` (documented in client/README.md, checked by a test) and
 * a message that says what to do next.
 */
import type { RemoteErrorShape } from "@launchbay/protocol";

export const CLIENT_ERROR_CODES = [
  "no-address",
  "bad-address",
  "connect-failed",
  "invalid-option",
  "free-variable",
  "unsupported-function",
  "not-serializable",
  "scheduler-lost",
  "remote-task",
  "code-budget",
  "cancelled",
  "lost",
  "released",
  "timeout",
  "client-closed",
  "data-unavailable",
  "module-bundle-failed",
  "unknown-export",
  "cluster-start-failed",
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export class LaunchbayError extends Error {
  override name = "LaunchbayError";
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A shipped function refers to variables that do not exist on the workers. */
export class FreeVariableError extends LaunchbayError {
  override name = "FreeVariableError";
  constructor(
    readonly variables: readonly string[],
    functionName: string,
  ) {
    super("free-variable", freeVariableMessage(variables, functionName));
  }
}

function freeVariableMessage(variables: readonly string[], functionName: string): string {
  const named = variables.map((v) => `\`${v}\``).join(", ");
  const fn = functionName ? `function \`${functionName}\`` : "a function";
  const hints: string[] = [];
  if (variables.includes("require")) {
    hints.push(
      '`require` does not exist in workers: use `await import("node:fs")` inside an async function, or ship a module',
    );
  }
  if (variables.includes("this")) {
    hints.push(
      "`this` in an arrow function refers to the notebook's scope: pass the object as an argument",
    );
  }
  const imported = variables.filter((v) => /^[\w$]+_\d+$/.test(v));
  if (imported.length > 0) {
    hints.push(
      `${imported.map((v) => `\`${v}\``).join(", ")} look${imported.length === 1 ? "s" : ""} like the notebook's compiled imports: ` +
        "a shipped function cannot use imports; put the code in a module and ship it with client.uploadModule(path)",
    );
  }
  const first = variables.find((v) => v !== "require" && v !== "this") ?? variables[0] ?? "x";
  return (
    `${fn} uses ${named} from the notebook, but a function sent to workers cannot use ` +
    `variables from the notebook: pass ${variables.length > 1 ? "them" : "it"} as ` +
    `${variables.length > 1 ? "arguments" : "an argument"} (client.submit(fn, ${first})), ` +
    `list helpers in uses (client.submitWith({ uses: { ${first} } }, fn, ...)), ` +
    "or put helpers in a module and ship it with client.uploadModule(path)" +
    (hints.length ? `. Note: ${hints.join("; ")}` : "")
  );
}

/** An error thrown by the task's own code (or a runtime failure attributed to the task). */
export class RemoteTaskError extends LaunchbayError {
  override name = "RemoteTaskError";
  /** The remote error's `name` (e.g. "TypeError"). */
  readonly remoteName: string;
  /** Set when launchbay failed the task itself: killed-worker, memory-limit, no-worker, ... */
  readonly remoteCode: string | undefined;
  readonly remoteStack: string | undefined;
  constructor(
    readonly key: string,
    remote: RemoteErrorShape,
  ) {
    const header = remote.code
      ? `task ${key} failed (${remote.code}): ${remote.message}`
      : `task ${key} failed: ${remote.name}: ${remote.message}`;
    const stack = remote.stack ? `\n--- remote stack ---\n${remote.stack}` : "";
    super("remote-task", header + stack);
    this.remoteName = remote.name;
    this.remoteCode = remote.code;
    this.remoteStack = remote.stack;
  }
}

/**
 * The scheduler refused the task's function or module: it already holds as many bytes of
 * shipped code as its `--max-code-bytes` budget allows. The message says what to do.
 */
export class CodeBudgetError extends LaunchbayError {
  override name = "CodeBudgetError";
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super("code-budget", detail);
  }
}

/** The scheduler connection closed: results of earlier futures are gone. */
export class SchedulerLostError extends LaunchbayError {
  override name = "SchedulerLostError";
  constructor(address: string, detail?: string) {
    super(
      "scheduler-lost",
      `the connection to the scheduler at ${address} closed${detail ? ` (${detail})` : ""}: ` +
        "the results of futures submitted before are lost; submit them again",
    );
  }
}

export class CancelledError extends LaunchbayError {
  override name = "CancelledError";
  constructor(key: string, detail?: string) {
    super("cancelled", `future ${key} was cancelled${detail ? `: ${detail}` : ""}`);
  }
}

/** The scheduler forgot a key it could not recompute (e.g. a scattered value on a dead worker). */
export class FutureLostError extends LaunchbayError {
  override name = "FutureLostError";
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super("lost", `future ${key} is lost: ${detail}`);
  }
}

export class TimeoutError extends LaunchbayError {
  override name = "TimeoutError";
  constructor(message: string) {
    super("timeout", message);
  }
}

export function invalidOption(message: string): LaunchbayError {
  return new LaunchbayError("invalid-option", message);
}
