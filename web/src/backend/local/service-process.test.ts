import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { plainLine, ServiceProcess } from "./service-process.js";

const log = pino({ level: "silent" });
let proc: ServiceProcess | undefined;
afterEach(async () => {
  await proc?.stop();
  proc = undefined;
});

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
