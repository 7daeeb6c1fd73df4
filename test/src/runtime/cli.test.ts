/** The built CLIs as a user runs them: --help, bad flags, graceful shutdown. */
import { afterAll, describe, expect, it } from "vitest";
import { assertBuilt, RuntimeProcess, runToExit, SCHEDULER_CLI, WORKER_CLI } from "./processes.js";

const started: RuntimeProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.kill()));
});

const WORKER_FLAGS = [
  ["--token", "LAUNCHBAY_TOKEN"],
  ["--nthreads", "LAUNCHBAY_NTHREADS"],
  ["--memory-limit", "LAUNCHBAY_MEMORY_LIMIT"],
  ["--name", "LAUNCHBAY_WORKER_NAME"],
  ["--host", "LAUNCHBAY_WORKER_HOST"],
  ["--port", "LAUNCHBAY_WORKER_PORT"],
  ["--advertise-host", "LAUNCHBAY_ADVERTISE_HOST"],
  ["--resources", "LAUNCHBAY_RESOURCES"],
  ["--log-level", "LAUNCHBAY_LOG_LEVEL"],
];
const SCHEDULER_FLAGS = [
  ["--host", "LAUNCHBAY_HOST"],
  ["--port", "LAUNCHBAY_PORT"],
  ["--token", "LAUNCHBAY_TOKEN"],
  ["--log-level", "LAUNCHBAY_LOG_LEVEL"],
  ["--allowed-failures", ""],
  ["--heartbeat-interval", ""],
];

describe("CLIs", () => {
  assertBuilt();

  it("launchbay-worker --help lists every flag and environment variable", async () => {
    const { code, stdout } = await runToExit(WORKER_CLI, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: launchbay-worker <scheduler-url>");
    expect(stdout).toContain("LAUNCHBAY_SCHEDULER");
    for (const [flag, env] of WORKER_FLAGS) {
      expect(stdout).toContain(flag);
      expect(stdout).toContain(env);
    }
  });

  it("launchbay-scheduler --help lists every flag", async () => {
    const { code, stdout } = await runToExit(SCHEDULER_CLI, ["--help"]);
    expect(code).toBe(0);
    for (const [flag, env] of SCHEDULER_FLAGS) {
      expect(stdout).toContain(flag);
      expect(stdout).toContain(env);
    }
  });

  it.each([
    [
      ["ws://127.0.0.1:1", "--nthreads", "lots"],
      /--nthreads: "lots" is invalid: expected a whole number/,
    ],
    [["ws://127.0.0.1:1", "--memory-limit", "2 gigs"], /--memory-limit: .*not a unit/],
    [["ws://127.0.0.1:1", "--frobnicate"], /Unknown option '--frobnicate'.*--help/],
    [["ws://127.0.0.1:1", "--host", "0.0.0.0"], /refusing to listen on 0\.0\.0\.0 without a token/],
    [[], /missing the scheduler address/],
  ])("launchbay-worker %j exits 2 with a message naming the problem", async (args, message) => {
    const { code, stderr, stdout } = await runToExit(WORKER_CLI, args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
  });

  it("reads a bad value from the environment and names the variable", async () => {
    const { code, stderr } = await runToExit(WORKER_CLI, [], {
      LAUNCHBAY_SCHEDULER: "ws://127.0.0.1:1",
      LAUNCHBAY_NTHREADS: "0",
    });
    expect(code).toBe(2);
    expect(stderr).toContain('LAUNCHBAY_NTHREADS: "0" is invalid: expected at least 1');
  });

  it.each([
    [["--port", "99999"], /--port/],
    [["--bogus"], /--bogus/],
  ])("launchbay-scheduler %j exits 2 with a message", async (args, message) => {
    const { code, stderr } = await runToExit(SCHEDULER_CLI, args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it("launchbay-scheduler refuses a non-loopback bind without a token", async () => {
    const { code, stderr, stdout } = await runToExit(SCHEDULER_CLI, [
      "--host",
      "0.0.0.0",
      "--port",
      "0",
    ]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/token/);
    expect(stdout).toBe("");
  });

  it("both shut down gracefully on SIGTERM (exit 0)", async () => {
    const scheduler = RuntimeProcess.spawn("scheduler", SCHEDULER_CLI, [
      "--port",
      "0",
      "--log-level",
      "warn",
    ]);
    started.push(scheduler);
    const address = await scheduler.firstLine();
    expect(address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const worker = RuntimeProcess.spawn(
      "worker",
      WORKER_CLI,
      [address, "--nthreads", "1", "--log-level", "warn"],
      {
        LAUNCHBAY_WORKER_NAME: "from-env",
      },
    );
    started.push(worker);
    expect(await worker.firstLine()).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const status = await fetch(`${address.replace("ws:", "http:")}/api/status`);
    const body = (await status.json()) as { workers: { name: string }[] };
    expect(body.workers.map((w) => w.name)).toEqual(["from-env"]);
    worker.signal("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    scheduler.signal("SIGTERM");
    expect(await scheduler.exited).toEqual({ code: 0, signal: null });
  });

  it("a worker started before its scheduler waits for it and registers once it is up", async () => {
    // Reserve a port by starting a scheduler, note it, stop it, start the worker, restart.
    const first = RuntimeProcess.spawn("scheduler", SCHEDULER_CLI, [
      "--port",
      "0",
      "--log-level",
      "warn",
    ]);
    started.push(first);
    const address = await first.firstLine();
    first.signal("SIGTERM");
    await first.exited;
    const worker = RuntimeProcess.spawn("worker", WORKER_CLI, [
      address,
      "--nthreads",
      "1",
      "--log-level",
      "warn",
    ]);
    started.push(worker);
    const port = new URL(address).port;
    const second = RuntimeProcess.spawn("scheduler", SCHEDULER_CLI, [
      "--port",
      port,
      "--log-level",
      "warn",
    ]);
    started.push(second);
    expect(await second.firstLine()).toBe(address);
    expect(await worker.firstLine()).toMatch(/^ws:\/\//);
  });
});
