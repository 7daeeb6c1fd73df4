import { describe, expect, it } from "vitest";
import { HostPolicy } from "./host-policy.js";

const ID = "sb-abcdefghijklmnopqrst";

describe("host allow-list", () => {
  it("knows the loopback names with the listening port by default, and nothing else", () => {
    const hosts = new HostPolicy([], "localhost");
    for (const h of ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST:8080"]) {
      expect(hosts.classify(h, 8080)).toEqual({ kind: "launcher" });
    }
    for (const h of [
      "localhost:9090",
      "rebind.attacker.example:8080",
      "10.0.0.1:8080",
      "",
      "a b",
    ]) {
      expect(hosts.classify(h, 8080).kind).toBe("unknown");
    }
    expect(hosts.classify(undefined, 8080).kind).toBe("unknown");
    expect(hosts.launcherOrigins("http", 8080, [])).toEqual([
      "http://localhost:8080",
      "http://127.0.0.1:8080",
      "http://[::1]:8080",
    ]);
  });

  it("answers for configured public hosts only, with their port or the default ports", () => {
    const hosts = new HostPolicy(
      ["workshop.example.org", "lab.example.org:8443"],
      "sb.example.org",
    );
    expect(hosts.classify("workshop.example.org", 8080).kind).toBe("launcher");
    expect(hosts.classify("workshop.example.org:443", 8080).kind).toBe("launcher");
    expect(hosts.classify("workshop.example.org:8080", 8080).kind).toBe("unknown");
    expect(hosts.classify("lab.example.org:8443", 8080).kind).toBe("launcher");
    expect(hosts.classify("localhost:8080", 8080).kind).toBe("unknown");
    expect(hosts.launcherOrigins("https", 8080, ["https://extra.example"])).toEqual([
      "https://extra.example",
      "https://workshop.example.org",
      "https://lab.example.org:8443",
    ]);
  });

  it("recognises one sandbox label under the sandbox domain and nothing deeper or elsewhere", () => {
    const hosts = new HostPolicy(["workshop.example.org"], "sb.example.org");
    expect(hosts.classify(`${ID}.sb.example.org`, 8080)).toEqual({ kind: "sandbox", id: ID });
    expect(hosts.classify(`${ID}.sb.example.org:8443`, 8080).kind).toBe("unknown");
    expect(hosts.classify(`x.${ID}.sb.example.org`, 8080).kind).toBe("unknown");
    expect(hosts.classify(`${ID}.example.org`, 8080).kind).toBe("unknown");
    expect(hosts.classify("sb.example.org", 8080).kind).toBe("unknown");
    expect(hosts.classify(`${ID}.sb.example.org.attacker.example`, 8080).kind).toBe("unknown");
    expect(hosts.sandboxOrigin(ID, "https", "workshop.example.org")).toBe(
      `https://${ID}.sb.example.org`,
    );
    const local = new HostPolicy([], "localhost");
    expect(local.sandboxOrigin(ID, "http", "127.0.0.1:8080")).toBe(`http://${ID}.localhost:8080`);
    expect(local.classify(`${ID}.localhost:8080`, 8080)).toEqual({ kind: "sandbox", id: ID });
  });
});
