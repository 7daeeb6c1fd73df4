import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TaskFailureCode } from "@launchbay/protocol";
import { SCHEDULER_ERROR_CODES } from "./errors.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("error codes", () => {
  it("documents every scheduler error code in the README", () => {
    for (const code of SCHEDULER_ERROR_CODES) expect(readme, code).toContain(`\`${code}\``);
  });

  it("documents every task failure code the scheduler sends", () => {
    for (const code of TaskFailureCode.options) expect(readme, code).toContain(`\`${code}\``);
  });
});
