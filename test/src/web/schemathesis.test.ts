import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultVenvDir } from "@launchbay/web";
import { buildFixture, type Fixture, ORGANISER_TOKEN } from "@launchbay/web/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Fuzzes the launcher's generated OpenAPI document with schemathesis (from the set-up venv)
// against a real listening launcher (scripted backend, so launches cost nothing): any 5xx,
// a response that does not match its documented schema, an undocumented status code, or a
// method the document does not list answered with anything but 405 fails the run.
const ST = join(defaultVenvDir(), "bin", "st");
const lots = { max: 1_000_000, windowSeconds: 60 };

let fx: Fixture;
let base: string;

beforeAll(async () => {
  if (!existsSync(ST)) {
    throw new Error(
      `${ST} is missing: run \`bash scripts/setup.sh jupyter\` (scripts/requirements.txt)`,
    );
  }
  // Limits out of the way: the fuzzer sends everything from one address.
  fx = await buildFixture({
    rateLimitIp: { burst: 1_000_000, perMinute: 1_000_000 },
    rateLimitAttendee: { burst: 1_000_000, perMinute: 1_000_000 },
    limits: { newIdentitiesPerIp: lots, launchesPerIp: lots, organiserSignInPerIp: lots },
    workshop: { maxSandboxes: 10_000 },
  });
  await fx.app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await fx?.app.close();
});

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // schemathesis keeps a cache of failing cases in its working directory: a throwaway one.
    const cwd = mkdtempSync(join(tmpdir(), "lb-schemathesis-"));
    const child = spawn(ST, args, { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", (err) => {
      rmSync(cwd, { recursive: true, force: true });
      reject(err);
    });
    child.on("exit", (code) => {
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
}

describe("the launcher's OpenAPI document", () => {
  it("holds under schemathesis: no 5xx, responses match their schemas, unknown methods get 405", async () => {
    const { code, output } = await run([
      "run",
      `${base}/openapi.json`,
      "--checks",
      "not_a_server_error,response_schema_conformance,status_code_conformance,unsupported_method",
      "--max-examples",
      "20",
      "--max-time",
      "60",
      "--request-timeout",
      "10",
      "--seed",
      "1",
      "--header",
      `Authorization: Bearer ${ORGANISER_TOKEN}`,
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/\d+ generated, \d+ passed/);
  }, 180_000);
});
