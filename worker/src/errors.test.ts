import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WorkerErrorCode } from "./errors.js";

describe("worker error codes", () => {
  it("documents every code in worker/README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const code of WorkerErrorCode) expect(readme).toContain(`| \`${code}\` |`);
  });
});
