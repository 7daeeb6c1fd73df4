import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  isRefused,
  isTerminal,
  KUBE_ERROR_CODES,
  KubeApiError,
  TerminalError,
} from "./errors.js";

const answered = (status: number, reason = "") =>
  new KubeApiError(status, "GET", "/api/v1/namespaces/a/pods/p", reason, "message");

describe("error codes", () => {
  it("are each documented in kube/README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const code of KUBE_ERROR_CODES) expect(readme, code).toContain(`\`${code}\``);
  });
});

describe("error classification", () => {
  it("classifies API answers by status, once", () => {
    expect(isNotFound(answered(404))).toBe(true);
    expect(isConflict(answered(409))).toBe(true);
    expect(isAlreadyExists(answered(409, "AlreadyExists"))).toBe(true);
    expect(isAlreadyExists(answered(409, "Conflict"))).toBe(false);
    expect(isForbidden(answered(403))).toBe(true);
    expect(isGone(answered(410))).toBe(true);
    expect(isInvalid(answered(422))).toBe(true);
    expect(answered(410).code).toBe("watch-expired");
    expect(answered(500).code).toBe("kube-api");
    // Anything that is not an API answer is none of these.
    for (const error of [new Error("404"), undefined, { status: 404 }]) {
      expect(isNotFound(error)).toBe(false);
      expect(isRefused(error)).toBe(false);
    }
  });

  it("calls refused the 4xx answers that resending cannot fix", () => {
    expect([400, 403, 404, 422].every((s) => isRefused(answered(s)))).toBe(true);
    expect([409, 429, 500, 503].some((s) => isRefused(answered(s)))).toBe(false);
  });

  it("tells a TerminalError from the rest", () => {
    expect(isTerminal(new TerminalError("invalid"))).toBe(true);
    expect(isTerminal(answered(422))).toBe(false);
    expect(new TerminalError("x").code).toBe("terminal");
  });

  it("ignoreNotFound answers undefined for 404 only", async () => {
    await expect(ignoreNotFound(() => Promise.reject(answered(404)))).resolves.toBeUndefined();
    await expect(ignoreNotFound(() => Promise.resolve(1))).resolves.toBe(1);
    await expect(ignoreNotFound(() => Promise.reject(answered(403)))).rejects.toThrow(/403/);
  });
});
