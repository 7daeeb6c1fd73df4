import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WorkerErrorCode } from "./errors.js";

describe("worker error codes", () => {
  it("documents every code in worker/README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    // A row of a Markdown table whose first cell is the code (padding may vary).
    for (const code of WorkerErrorCode)
      expect(readme).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`, "m"));
  });
});
