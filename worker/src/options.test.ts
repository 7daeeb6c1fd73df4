import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { defaultAdvertiseHost, resolveDefaults, WorkerOptions, wsAddress } from "./options.js";

describe("worker options", () => {
  it("advertises the bind host, or the hostname for a wildcard bind", () => {
    expect(defaultAdvertiseHost("127.0.0.1")).toBe("127.0.0.1");
    expect(defaultAdvertiseHost("10.1.2.3")).toBe("10.1.2.3");
    expect(defaultAdvertiseHost("0.0.0.0")).toBe(hostname());
    expect(defaultAdvertiseHost("::")).toBe(hostname());
  });

  it("brackets IPv6 literals in addresses", () => {
    expect(wsAddress("127.0.0.1", 80)).toBe("ws://127.0.0.1:80");
    expect(wsAddress("::1", 9000)).toBe("ws://[::1]:9000");
    expect(wsAddress("[::1]", 9000)).toBe("ws://[::1]:9000");
    expect(wsAddress("worker-0.svc", 1)).toBe("ws://worker-0.svc:1");
  });

  it("fills in defaults: loopback, any port, <hostname>-<pid>, 80% of memory", () => {
    const options = resolveDefaults(WorkerOptions.parse({ scheduler: "ws://s:1" }));
    expect(options).toMatchObject({
      host: "127.0.0.1",
      port: 0,
      advertiseHost: "127.0.0.1",
      resources: {},
    });
    expect(options.name).toBe(`${hostname()}-${process.pid}`);
    expect(options.nthreads).toBeGreaterThan(0);
    expect(options.memoryLimit).toBeGreaterThan(0);
  });

  it("rejects a scheduler address that is not ws://host:port", () => {
    expect(WorkerOptions.safeParse({ scheduler: "127.0.0.1:8786" }).success).toBe(false);
    expect(WorkerOptions.safeParse({ scheduler: "ws://127.0.0.1:8786/" }).success).toBe(true);
  });
});
