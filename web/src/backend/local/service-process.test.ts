import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { plainLine, ServiceProcess } from "./service-process.js";

const log = pino({ level: "silent" });
let proc: ServiceProcess | undefined;
afterEach(async () => {
  await proc?.stop();
  proc = undefined;
});

/** A logger at `level` whose records are kept; `seen` resolves at the first matching message. */
function captureUntil(level: string, match: (msg: string) => boolean) {
  const records: { level: number; msg: string; process: string }[] = [];
  let resolve: () => void = () => {};
  const seen = new Promise<void>((r) => (resolve = r));
  const capture = pino(
    { level },
    {
      write: (chunk: string) => {
        records.push(JSON.parse(chunk));
        if (match(records.at(-1)!.msg)) resolve();
      },
    },
  );
  return { records, capture, seen };
}

describe("service process", () => {
  it("gives the child exactly its spec's environment, nothing of the launcher's", async () => {
    process.env.LAUNCHBAY_ORGANISER_TOKEN = "launcher-secret-0123456789";
    try {
      proc = new ServiceProcess(
        "env",
        {
          command: process.execPath,
          args: ["-e", "console.log(JSON.stringify(process.env))"],
          env: { ONLY: "this" },
        },
        log,
      );
      const env = JSON.parse(await proc.firstStdoutLine(20_000)) as Record<string, string>;
      expect(env.ONLY).toBe("this");
      expect(env.LAUNCHBAY_ORGANISER_TOKEN).toBeUndefined();
      expect(JSON.stringify(env)).not.toContain("launcher-secret-0123456789");
    } finally {
      delete process.env.LAUNCHBAY_ORGANISER_TOKEN;
    }
  });

  it("redacts the sandbox's tokens from the output it logs and keeps", async () => {
    const lines: string[] = [];
    const capture = pino({ level: "debug" }, { write: (chunk: string) => lines.push(chunk) });
    proc = new ServiceProcess(
      "jupyter",
      {
        command: process.execPath,
        args: ["-e", "console.log('http://127.0.0.1:8888/lab?token=s3cret-token')"],
      },
      capture,
      { redact: ["s3cret-token"] },
    );
    // Line listeners run after the line was logged and kept.
    expect(await proc.firstStdoutLine(20_000)).toBe("http://127.0.0.1:8888/lab?token=[redacted]");
    expect(proc.lastOutput()).toBe("http://127.0.0.1:8888/lab?token=[redacted]");
    expect(lines.join("")).toContain("token=[redacted]");
    expect(lines.join("")).not.toContain("s3cret-token");
  });

  it("logs a sandbox process's warnings and errors at their level, everything else at debug", async () => {
    const { records, capture, seen: last } = captureUntil("info", (msg) => msg === "last line");
    // One stream, so the lines arrive in this order and "last line" is the last one.
    const script = [
      'console.log(JSON.stringify({ level: 30, msg: "Registered" }))',
      'console.log(JSON.stringify({ level: 40, msg: "Scheduler connection lost" }))',
      'console.log("[I 2026-11-25 19:45:01.123 ServerApp] Serving notebooks")',
      'console.log("[W 2026-11-25 19:45:01.124 ServerApp] 404 GET /api/nope")',
      'console.log("[E 2026-11-25 19:45:01.125 ServerApp] Uncaught exception")',
      'console.log("plain output")',
      'console.log(JSON.stringify({ level: 50, msg: "last line" }))',
    ].join(";");
    proc = new ServiceProcess(
      "worker-0",
      { command: process.execPath, args: ["-e", script] },
      capture,
    );
    await last;
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      [40, "Scheduler connection lost"],
      [40, "[W 2026-11-25 19:45:01.124 ServerApp] 404 GET /api/nope"],
      [50, "[E 2026-11-25 19:45:01.125 ServerApp] Uncaught exception"],
      [50, "last line"],
    ]);
    expect(records.every((r) => r.process === "worker-0")).toBe(true);
  });

  it("logs what a process says while the launcher stops it at debug (expected, not a warning)", async () => {
    const {
      records,
      capture,
      seen: stopping,
    } = captureUntil("debug", (msg) => msg.includes("stopping"));
    const script = [
      "process.on('SIGTERM', () => { console.log(JSON.stringify({ level: 40, msg: 'Worker removed, stopping' })); process.exit(0); })",
      "console.log(JSON.stringify({ level: 40, msg: 'up' }))",
      "setInterval(() => {}, 1000)",
    ].join(";");
    proc = new ServiceProcess(
      "scheduler",
      { command: process.execPath, args: ["-e", script] },
      capture,
    );
    await proc.firstStdoutLine(20_000);
    await proc.stop();
    await stopping;
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      [40, "up"],
      [20, '{"level":40,"msg":"Worker removed, stopping"}'],
    ]);
  });

  it("turns the runtime's JSON log lines into plain words for failure messages", () => {
    expect(
      plainLine(
        '{"level":50,"time":1,"pid":7,"component":"scheduler","msg":"Scheduler failed to start","err":{"message":"listen EADDRINUSE"}}',
      ),
    ).toBe("Scheduler failed to start: listen EADDRINUSE");
    expect(plainLine('{"level":30,"msg":"Registered"}')).toBe("Registered");
    expect(plainLine("refusing to start")).toBe("refusing to start");
    expect(plainLine("{not json")).toBe("{not json");
  });
});
