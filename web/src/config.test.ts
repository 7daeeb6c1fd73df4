import { describe, expect, it } from "vitest";
import { parseDuration, workshopSpecSchema } from "@launchbay/operator/api";
import { defaultText } from "@launchbay/operator/cli-help";
import { configSchema, helpText, parseConfig, rawConfigFrom, SETTINGS } from "./config.js";

describe("launcher configuration", () => {
  it("defaults to the local backend on 127.0.0.1:8080 with generated secrets", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 8080, backend: "local" });
    expect(config.cookieSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.organiserToken.length).toBeGreaterThanOrEqual(16);
    expect(config.workshop).toMatchObject({ lifetimeMinutes: 120, workers: 3 });
  });

  it("reads environment variables and lets flags win", () => {
    const raw = rawConfigFrom(
      { PORT: "9000", LAUNCHBAY_MAX_SANDBOXES: "40", LAUNCHBAY_TITLE: "Dask day" },
      ["--port", "9100", "--access-code=letmein", "--max-concurrent-starts", "5"],
    );
    const config = parseConfig(raw);
    expect(config.port).toBe(9100);
    expect(config.workshop).toMatchObject({
      maxSandboxes: 40,
      title: "Dask day",
      accessCode: "letmein",
    });
    expect(config.maxConcurrentStarts).toBe(5);
  });

  it("explains every invalid value by name", () => {
    expect(() =>
      parseConfig(rawConfigFrom({ PORT: "http", LAUNCHBAY_BACKEND: "docker" }, [])),
    ).toThrow(/port: .*; backend: /);
    expect(() =>
      parseConfig({ workshop: { lifetimeMinutes: 120, maxLifetimeMinutes: 60 } }),
    ).toThrow("workshop.maxLifetimeMinutes: must be at least workshop.lifetimeMinutes");
    expect(() => parseConfig({ workshop: { warmPool: 5, maxSandboxes: 2 } })).toThrow(
      "workshop.warmPool: cannot exceed workshop.maxSandboxes",
    );
    expect(() => parseConfig({ cookieSecret: "short" })).toThrow(
      "cookieSecret: must be at least 32 characters",
    );
  });

  it("rejects unknown flags and flags without values", () => {
    expect(() => rawConfigFrom({}, ["--prot", "1"])).toThrow(
      /unknown flag --prot; known flags: .*--port/,
    );
    expect(() => rawConfigFrom({}, ["--port"])).toThrow("flag --port needs a value");
    expect(() => rawConfigFrom({}, ["8080"])).toThrow('unexpected argument "8080"');
  });

  it("takes each local sandbox's cgroup limits from flags, and says what is wrong with a bad one", () => {
    const config = parseConfig(
      rawConfigFrom({ LAUNCHBAY_SANDBOX_MEMORY: "2GiB" }, [
        "--sandbox-cpus",
        "1.5",
        "--sandbox-pids",
        "256",
      ]),
    );
    expect(config.local).toMatchObject({
      sandboxMemory: "2GiB",
      sandboxCpus: 1.5,
      sandboxPids: 256,
    });
    expect(parseConfig({}).local).toMatchObject({
      sandboxMemory: "4GiB",
      sandboxCpus: 2,
      sandboxPids: 1024,
    });
    expect(() => parseConfig(rawConfigFrom({}, ["--sandbox-memory", "lots"]))).toThrow(
      "local.sandboxMemory: must look like 4GiB or 512MiB",
    );
    expect(() => parseConfig(rawConfigFrom({}, ["--sandbox-pids", "10"]))).toThrow(
      "local.sandboxPids: must be at least 64",
    );
    expect(() => parseConfig(rawConfigFrom({}, ["--sandbox-cpus", "0"]))).toThrow(
      /local\.sandboxCpus/,
    );
  });

  it("starts from the Workshop resource's defaults, as the chart does (one set of defaults)", () => {
    const local = parseConfig({}).workshop;
    const spec = workshopSpecSchema.parse({ title: "t" });
    expect(local.lifetimeMinutes * 60_000).toBe(parseDuration(spec.lifetime));
    expect(local.maxLifetimeMinutes * 60_000).toBe(parseDuration(spec.maxLifetime));
    expect(local.warmPool).toBe(spec.warmPool);
    expect(local.workers).toBe(spec.sandbox.workers);
    // No idle expiry unless asked for, here as in the Workshop and the chart.
    expect(local.idleTimeoutMinutes).toBeUndefined();
    expect(spec.idleTimeout).toBeUndefined();
  });

  it("lists every flag with its environment variable, default and meaning in --help", () => {
    const lines = helpText().split("\n");
    const defaults = configSchema.parse({}) as Record<string, unknown>;
    for (const [env, { path, meaning, unset }] of Object.entries(SETTINGS)) {
      const flag = `--${env
        .replace(/^LAUNCHBAY_/, "")
        .toLowerCase()
        .replaceAll("_", "-")}`;
      expect(() => rawConfigFrom({}, [flag, "x"])).not.toThrow();
      const line = lines.find((l) => l.startsWith(`  ${flag} VALUE `));
      expect(line, flag).toBeDefined();
      const fromSchema = path.split(".").reduce<unknown>((node, key) => {
        return (node as Record<string, unknown> | undefined)?.[key];
      }, defaults);
      const shown = unset ?? defaultText(fromSchema);
      expect(shown, `${env} needs a schema default or an "unset" text`).toBeTruthy();
      expect(meaning.length).toBeGreaterThan(3);
      expect(line!.endsWith(`${meaning} (default ${shown}) [env ${env}]`), line).toBe(true);
    }
    expect(helpText()).toMatch(/--max-lifetime-minutes VALUE +.*\(default 480\)/);
    expect(helpText()).toMatch(/--public-host NAME\[:PORT\] +one more public host name/);
  });

  it("takes proxy trust as a hop count or an address list, and refuses true with what to use", () => {
    const trust = (value: string) =>
      parseConfig(rawConfigFrom({}, ["--trust-proxy", value])).trustProxy;
    expect(trust("1")).toBe(1);
    expect(trust("false")).toBe(false);
    expect(trust("0")).toBe(false);
    expect(trust("10.0.0.0/8,127.0.0.1")).toEqual(["10.0.0.0/8", "127.0.0.1"]);
    expect(trust("::1,fd00::/8")).toEqual(["::1", "fd00::/8"]);
    expect(() => trust("true")).toThrow(
      /trustProxy: true would trust every X-Forwarded-For hop.*--trust-proxy|number of proxies/,
    );
    expect(() => trust("true")).toThrow("10.0.0.0/8,127.0.0.1");
    expect(() => trust("11")).toThrow("between 0 and 10");
    expect(() => trust("10.0.0.0/33")).toThrow("not an address or CIDR range: 10.0.0.0/33");
    expect(() => trust("proxy.local")).toThrow("not an address or CIDR range: proxy.local");
  });

  it("reads public hosts (repeatable flag or comma list) and the sandbox domain, and explains bad ones", () => {
    const config = parseConfig(
      rawConfigFrom({ LAUNCHBAY_SANDBOX_DOMAIN: "Sandboxes.Example.org" }, [
        "--public-host",
        "workshop.example.org",
        "--public-host=localhost:8080",
      ]),
    );
    expect(config.publicHosts).toEqual(["workshop.example.org", "localhost:8080"]);
    expect(config.sandboxDomain).toBe("sandboxes.example.org");
    expect(
      parseConfig(rawConfigFrom({ LAUNCHBAY_PUBLIC_HOSTS: "a.example,[::1]:80" }, [])).publicHosts,
    ).toEqual(["a.example", "[::1]:80"]);
    expect(parseConfig({}).sandboxDomain).toBe("localhost");
    expect(() => parseConfig({ publicHosts: ["https://x.example/"] })).toThrow(
      /publicHosts\.0: must be a host name with an optional port/,
    );
    expect(() => parseConfig({ sandboxDomain: "*.example.org" })).toThrow(
      /sandboxDomain: must be a DNS name without port or scheme/,
    );
    expect(() => rawConfigFrom({}, ["--public-host"])).toThrow("flag --public-host needs a value");
  });
});
