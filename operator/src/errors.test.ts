import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OPERATOR_ERROR_CODES } from "./errors.js";

describe("error codes", () => {
  it("are each documented in operator/README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const code of OPERATOR_ERROR_CODES) expect(readme, code).toContain(`\`${code}\``);
  });
});
