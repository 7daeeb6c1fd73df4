import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, LauncherError } from "./errors.js";

describe("error codes", () => {
  it("are every one documented in web/README.md with its HTTP status", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      const row = readme
        .split("\n")
        .find((line) => new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`).test(line));
      expect(row, `web/README.md documents ${code}`).toBeDefined();
      expect(row).toContain(String(status));
    }
  });

  it("serialise as {code, message} plus details", () => {
    const err = new LauncherError("rate-limited", "slow down", {
      details: { retryAfterSeconds: 3 },
    });
    expect(err.status).toBe(429);
    expect(err.toJSON()).toEqual({
      code: "rate-limited",
      message: "slow down",
      retryAfterSeconds: 3,
    });
  });
});
