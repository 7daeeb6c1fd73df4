import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import {
  isLoopbackHostHeader,
  parseOrigin,
  refuseHost,
  refuseOrigin,
  unsafeOriginsReason,
} from "./browser-guard.js";

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe("browser guard", () => {
  it("accepts origins as scheme://host[:port] and normalises them", () => {
    expect(parseOrigin("https://Sandbox.Example.com")).toEqual({
      ok: true,
      origin: "https://sandbox.example.com",
    });
    expect(parseOrigin("http://localhost:8888")).toEqual({
      ok: true,
      origin: "http://localhost:8888",
    });
    expect(parseOrigin("https://a.example/")).toEqual({ ok: true, origin: "https://a.example" });
    for (const bad of [
      "a.example",
      "https://a.example/path",
      "https://a.example?x=1",
      "https://user@a.example",
      "ftp://a.example",
      "null",
      "*",
    ]) {
      expect(parseOrigin(bad), bad).toMatchObject({ ok: false });
    }
  });

  it("recognises loopback Host headers only", () => {
    for (const ok of ["localhost", "localhost:80", "127.0.0.1:8786", "127.1.2.3", "[::1]:9"])
      expect(isLoopbackHostHeader(ok), ok).toBe(true);
    for (const bad of [
      "rebind.attacker.example:8786",
      "localhost.attacker.example",
      "10.0.0.1",
      "0.0.0.0:1",
    ])
      expect(isLoopbackHostHeader(bad), bad).toBe(false);
  });

  it("checks Host only without a token", () => {
    const rebound = req({ host: "rebind.attacker.example:8786" });
    expect(refuseHost(rebound, { token: undefined, allowedOrigins: [] })?.status).toBe(403);
    expect(refuseHost(rebound, { token: "s3cret-token", allowedOrigins: [] })).toBeUndefined();
    expect(refuseHost(req({}), { token: undefined, allowedOrigins: [] })).toBeUndefined();
  });

  it("refuses every browser origin without a token, and unconfigured ones with a token", () => {
    const guard = { token: undefined, allowedOrigins: ["https://a.example"] };
    expect(refuseOrigin(req({ origin: "https://a.example" }), guard)?.status).toBe(403);
    const tokened = { token: "s3cret-token", allowedOrigins: ["https://a.example"] };
    expect(refuseOrigin(req({ origin: "https://a.example" }), tokened)).toBeUndefined();
    expect(refuseOrigin(req({ origin: "https://evil.example" }), tokened)?.status).toBe(403);
    expect(refuseOrigin(req({}), tokened)).toBeUndefined();
    expect(unsafeOriginsReason(undefined, ["https://a.example"])).toContain("without a token");
    expect(unsafeOriginsReason("s3cret-token", ["https://a.example"])).toBeUndefined();
  });
});
