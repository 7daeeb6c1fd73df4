import { describe, expect, it } from "vitest";
import { FLAGS, helpText, parseResources, parseWorkerArgs } from "./cli-args.js";

const GiB = 2 ** 30;
const parse = (argv: string[], env: Record<string, string> = {}) =>
  parseWorkerArgs(argv, env, 10 * GiB);

describe("parseWorkerArgs", () => {
  it("reads every flag", () => {
    const result = parse([
      "ws://10.0.0.1:8786",
      "--token=t0k",
      "--nthreads",
      "3",
      "--memory-limit",
      "2GiB",
      "--name",
      "w-1",
      "--host",
      "0.0.0.0",
      "--port",
      "9000",
      "--advertise-host",
      "w-1.svc",
      "--resources",
      "memoryMiB=1024,gpu=1",
      "--log-level",
      "debug",
    ]);
    expect(result).toEqual({
      kind: "run",
      options: {
        scheduler: "ws://10.0.0.1:8786",
        token: "t0k",
        nthreads: 3,
        memoryLimit: 2 * GiB,
        name: "w-1",
        host: "0.0.0.0",
        port: 9000,
        advertiseHost: "w-1.svc",
        resources: { memoryMiB: 1024, gpu: 1 },
        logLevel: "debug",
      },
    });
  });

  it("falls back to environment variables, and flags win over them", () => {
    const env = {
      LAUNCHBAY_SCHEDULER: "ws://s:1",
      LAUNCHBAY_TOKEN: "env-token",
      LAUNCHBAY_NTHREADS: "2",
      LAUNCHBAY_MEMORY_LIMIT: "50%",
      LAUNCHBAY_WORKER_NAME: "from-env",
      LAUNCHBAY_WORKER_HOST: "127.0.0.2",
      LAUNCHBAY_WORKER_PORT: "7000",
      LAUNCHBAY_ADVERTISE_HOST: "adv",
      LAUNCHBAY_RESOURCES: "gpu=2",
      LAUNCHBAY_LOG_LEVEL: "warn",
    };
    expect(parse([], env)).toEqual({
      kind: "run",
      options: {
        scheduler: "ws://s:1",
        token: "env-token",
        nthreads: 2,
        memoryLimit: 5 * GiB,
        name: "from-env",
        host: "127.0.0.2",
        port: 7000,
        advertiseHost: "adv",
        resources: { gpu: 2 },
        logLevel: "warn",
      },
    });
    const overridden = parse(["ws://flag:2", "--nthreads", "4"], env);
    expect(overridden).toMatchObject({
      kind: "run",
      options: { scheduler: "ws://flag:2", nthreads: 4 },
    });
  });

  it("asks for help", () => {
    expect(parse(["--help"])).toEqual({ kind: "help" });
    expect(parse(["-h"])).toEqual({ kind: "help" });
  });

  it.each([
    [["ws://s:1", "--nthreads", "0"], '--nthreads: "0" is invalid: expected at least 1'],
    [["ws://s:1", "--nthreads", "two"], '--nthreads: "two" is invalid: expected a whole number'],
    [["ws://s:1", "--port", "70000"], '--port: "70000" is invalid: expected at most 65535'],
    [["ws://s:1", "--memory-limit", "lots"], '--memory-limit: "lots" is not a size'],
    [["ws://s:1", "--resources", "gpu"], '--resources: "gpu" is not NAME=AMOUNT'],
    [["ws://s:1", "--log-level", "loud"], '--log-level: "loud" is invalid: expected one of'],
    [["ws://s:1", "--name", "has space"], '--name: "has space" is invalid'],
    [["ws://s:1", "--bogus", "1"], "Unknown option '--bogus'"],
    [["http://s:1"], '<scheduler-url>: "http://s:1" must look like ws://host:port'],
    [[], "missing the scheduler address"],
    [["ws://a:1", "ws://b:2"], "expected one scheduler address, got 2"],
  ])("rejects %j with a message naming what is wrong", (argv, message) => {
    const result = parse(argv);
    expect(result.kind).toBe("error");
    expect(result.kind === "error" ? result.message : "").toContain(message);
  });

  it("names the environment variable when the bad value came from it", () => {
    const result = parse(["ws://s:1"], { LAUNCHBAY_NTHREADS: "-3" });
    expect(result).toEqual({
      kind: "error",
      message: 'LAUNCHBAY_NTHREADS: "-3" is invalid: expected a whole number',
    });
  });
});

describe("helpText", () => {
  it("lists every flag and environment variable", () => {
    const help = helpText();
    for (const flag of FLAGS) {
      expect(help).toContain(`--${flag.flag}`);
      if (flag.env) expect(help).toContain(flag.env);
    }
    expect(help).toContain("LAUNCHBAY_SCHEDULER");
    expect(help).toContain("--help");
  });
});

describe("parseResources", () => {
  it("reads NAME=AMOUNT pairs", () => {
    expect(parseResources("memoryMiB=512, gpu=0.5")).toEqual({ memoryMiB: 512, gpu: 0.5 });
    expect(parseResources("")).toEqual({});
  });
});
