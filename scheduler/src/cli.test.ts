import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { helpText, parseCli } from "./cli-options.js";

describe("launchbay-scheduler flags", () => {
  it("defaults to 127.0.0.1:8786 without a token", () => {
    expect(parseCli([], {})).toEqual({
      kind: "run",
      options: {
        host: "127.0.0.1",
        port: 8786,
        token: undefined,
        allowedOrigins: [],
        maxCodeBytes: 256 * 2 ** 20,
        logLevel: "info",
        allowedFailures: 3,
        heartbeatIntervalMs: 1000,
      },
    });
  });

  it("reads environment variables, and flags win over them", () => {
    const env = {
      LAUNCHBAY_HOST: "::1",
      LAUNCHBAY_PORT: "9000",
      LAUNCHBAY_TOKEN: "env-token-1",
      LAUNCHBAY_LOG_LEVEL: "warn",
    };
    expect(parseCli(["--port", "0"], env)).toMatchObject({
      kind: "run",
      options: { host: "::1", port: 0, token: "env-token-1", logLevel: "warn" },
    });
  });

  it("takes --allowed-origin repeatedly (or comma-separated in the env) and validates each origin", () => {
    expect(
      parseCli(
        ["--allowed-origin", "https://a.example", "--allowed-origin", "http://localhost:8888"],
        {
          LAUNCHBAY_ALLOWED_ORIGINS: "https://ignored.example",
        },
      ),
    ).toMatchObject({
      kind: "run",
      options: { allowedOrigins: ["https://a.example", "http://localhost:8888"] },
    });
    expect(
      parseCli([], { LAUNCHBAY_ALLOWED_ORIGINS: "https://a.example, https://B.example:443" }),
    ).toMatchObject({ options: { allowedOrigins: ["https://a.example", "https://b.example"] } });
    expect(parseCli(["--allowed-origin", "https://a.example/app"], {})).toMatchObject({
      kind: "error",
      message: expect.stringContaining("--allowed-origin: expected an origin"),
    });
    expect(parseCli([], { LAUNCHBAY_ALLOWED_ORIGINS: "javascript:alert(1)" })).toMatchObject({
      kind: "error",
      message: expect.stringContaining("LAUNCHBAY_ALLOWED_ORIGINS (for --allowed-origin)"),
    });
  });

  it("reads --max-code-bytes as bytes or KiB/MiB/GiB, within 1MiB-64GiB", () => {
    expect(parseCli(["--max-code-bytes", "512MiB"], {})).toMatchObject({
      options: { maxCodeBytes: 512 * 2 ** 20 },
    });
    expect(parseCli([], { LAUNCHBAY_MAX_CODE_BYTES: "2GiB" })).toMatchObject({
      options: { maxCodeBytes: 2 * 2 ** 30 },
    });
    expect(parseCli(["--max-code-bytes", "1048576"], {})).toMatchObject({
      options: { maxCodeBytes: 2 ** 20 },
    });
    for (const bad of ["100KiB", "65GiB", "lots", "1.5MiB", "0"]) {
      expect(parseCli(["--max-code-bytes", bad], {}), bad).toMatchObject({
        kind: "error",
        message: expect.stringContaining("--max-code-bytes: expected a size from 1MiB to 64GiB"),
      });
    }
  });

  it("names the flag and what it expects for a bad value", () => {
    expect(parseCli(["--port", "70000"], {})).toEqual({
      kind: "error",
      message: '--port: expected a port number 0-65535, got "70000"',
    });
    expect(parseCli([], { LAUNCHBAY_PORT: "x" })).toMatchObject({
      kind: "error",
      message: expect.stringContaining("LAUNCHBAY_PORT (for --port)"),
    });
    expect(parseCli(["--log-level", "loud"], {})).toMatchObject({
      message: expect.stringContaining("--log-level: expected one of fatal"),
    });
    expect(parseCli(["--token", "short"], {})).toMatchObject({
      message: expect.stringContaining("at least 8"),
    });
  });

  it("rejects unknown flags and stray arguments", () => {
    expect(parseCli(["--prot", "1"], {})).toMatchObject({
      kind: "error",
      message: expect.stringContaining("--prot"),
    });
    expect(parseCli(["extra"], {})).toMatchObject({ kind: "error" });
  });

  it("lists every flag and environment variable in --help", () => {
    const help = parseCli(["--help"], {});
    expect(help.kind).toBe("help");
    for (const word of [
      "--host",
      "--port",
      "--token",
      "--log-level",
      "--allowed-failures",
      "--heartbeat-interval",
      "LAUNCHBAY_HOST",
      "LAUNCHBAY_PORT",
      "LAUNCHBAY_TOKEN",
      "LAUNCHBAY_LOG_LEVEL",
    ]) {
      expect(helpText()).toContain(word);
    }
  });
});

describe("launchbay-scheduler process", () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const viteNode = join(
    dirname(createRequire(import.meta.url).resolve("vite-node/package.json")),
    "vite-node.mjs",
  );
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    child = undefined;
  });

  const start = (args: string[], env: Record<string, string> = {}) => {
    child = spawn(process.execPath, [viteNode, join(here, "cli.ts"), "--", ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return child;
  };

  it("prints its address first, logs JSON to stderr, and exits 0 on SIGTERM", async () => {
    const p = start(["--port", "0"], { LAUNCHBAY_TOKEN: "process-token" });
    const stderr: string[] = [];
    createInterface({ input: p.stderr! }).on("line", (l) => stderr.push(l));
    const lines = createInterface({ input: p.stdout! });
    const [first] = (await once(lines, "line")) as [string];
    expect(first).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${first.replace("ws://", "http://")}/healthz`);
    expect(health.status).toBe(200);
    const exited = once(p, "exit");
    p.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
    const logs = stderr
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toContain("Scheduler listening");
  });

  it("exits 2 naming the flag on a bad value", async () => {
    const p = start(["--port", "nope"]);
    let stderr = "";
    p.stderr!.on("data", (d) => (stderr += d));
    const [code] = await once(p, "exit");
    expect(code).toBe(2);
    expect(stderr).toContain("--port");
  });
});
