import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CLIENT_ERROR_CODES,
  FreeVariableError,
  RemoteTaskError,
  SchedulerLostError,
} from "./errors.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const errorsSection = readme.slice(
  readme.indexOf("## Errors"),
  readme.indexOf("## When the scheduler goes away"),
);

describe("client errors", () => {
  it("documents every error code in the README's Errors table", () => {
    const undocumented = CLIENT_ERROR_CODES.filter(
      (code) => !errorsSection.includes(`| \`${code}\` |`),
    );
    expect(undocumented).toEqual([]);
  });

  it("documents no code that does not exist", () => {
    const documented = [...errorsSection.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(
      documented.filter((code) => !(CLIENT_ERROR_CODES as readonly string[]).includes(code!)),
    ).toEqual([]);
  });

  it("names several free variables and says to pass them as arguments", () => {
    const error = new FreeVariableError(["data", "scale"], "");
    expect(error.message).toBe(
      "a function uses `data`, `scale` from the notebook, but a function sent to workers cannot use variables " +
        "from the notebook: pass them as arguments (client.submit(fn, data)), list helpers in uses " +
        "(client.submitWith({ uses: { data } }, fn, ...)), or put helpers in a module and ship " +
        "it with client.uploadModule(path)",
    );
    expect(error.variables).toEqual(["data", "scale"]);
  });

  it("explains `this` captured by an arrow function", () => {
    expect(new FreeVariableError(["this"], "f").message).toMatch(
      /`this` in an arrow function refers to the notebook's scope: pass the object as an argument/,
    );
  });

  it('points out the notebook\'s compiled imports (tslab turns `import { x } from "m"` into `m_1.x`)', () => {
    expect(new FreeVariableError(["lodash_1"], "f").message).toMatch(
      /`lodash_1` looks like the notebook's compiled imports: a shipped function cannot use imports; put the code in a module/,
    );
  });

  it("says which task failed and why when the runtime failed it", () => {
    const error = new RemoteTaskError("big-1", {
      name: "MemoryLimitError",
      message: "result of big-1 is 120 MiB but worker w-1 holds 900 MiB of its 1 GiB limit",
      code: "memory-limit",
    });
    expect(error.message).toBe(
      "task big-1 failed (memory-limit): result of big-1 is 120 MiB but worker w-1 holds 900 MiB of its 1 GiB limit",
    );
    expect(error.remoteCode).toBe("memory-limit");
    expect(error.code).toBe("remote-task");
  });

  it("tells what was lost when the scheduler connection closes", () => {
    expect(new SchedulerLostError("ws://127.0.0.1:8786", "1006").message).toBe(
      "the connection to the scheduler at ws://127.0.0.1:8786 closed (1006): the results of futures submitted " +
        "before are lost; submit them again",
    );
  });
});
