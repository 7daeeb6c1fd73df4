/**
 * The client and the worker speak the protocol through this package only: neither may
 * import the scheduler package (its logger, metrics and server). The client still starts the
 * scheduler's CLI as a process for LocalCluster, by file path, never by import.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** Module specifiers of static and dynamic imports and re-exports. */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...text.matchAll(/(?:\bfrom|\bimport\s*\(?)\s*["']([^"']+)["']/g)].map((m) => m[1]!);
}

describe.each(["client", "worker"])("the %s package", (pkg) => {
  it("does not import the scheduler package", () => {
    const offenders = sources(`${pkg}/src`).flatMap((file) =>
      imports(file)
        .filter((s) => s.startsWith("@launchbay/scheduler") || s.includes("scheduler/src"))
        .map((s) => `${file}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it("takes the protocol from @launchbay/protocol", () => {
    const manifest = JSON.parse(readFileSync(join(root, pkg, "package.json"), "utf8"));
    expect(manifest.dependencies["@launchbay/protocol"]).toBeDefined();
    const importers = sources(`${pkg}/src`).filter((f) =>
      imports(f).includes("@launchbay/protocol"),
    );
    expect(importers.length).toBeGreaterThan(0);
  });
});

describe("the protocol package", () => {
  it("depends on nothing but ws and zod (no logger, metrics or server)", () => {
    const manifest = JSON.parse(readFileSync(join(root, "protocol", "package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["ws", "zod"]);
    for (const file of sources("protocol/src")) {
      for (const s of imports(file)) {
        expect(
          s.startsWith(".") || s.startsWith("node:") || ["ws", "zod", "vitest"].includes(s),
          `${file}: ${s}`,
        ).toBe(true);
      }
    }
  });
});
