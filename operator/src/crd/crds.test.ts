import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { customResourceDefinitions } from "./crds.js";
import { renderCrdFiles } from "./render.js";
import { toStructuralSchema } from "./structural-schema.js";

const crdDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../charts/launchbay/crds");

describe("generated CRDs", () => {
  it("match the checked-in charts/launchbay/crds (run `npm run crds` after changing a schema)", () => {
    const generated = renderCrdFiles();
    const onDisk = readdirSync(crdDir).filter((f) => f.endsWith(".yaml"));
    expect(onDisk.sort()).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) {
      expect(readFileSync(join(crdDir, name), "utf8"), `${name} drifted`).toBe(text);
    }
  });

  it("have a status subresource and phase, owner and expiry printer columns", () => {
    const sandbox = customResourceDefinitions().find((c) => c.spec.names.kind === "Sandbox")!;
    const version = sandbox.spec.versions[0]!;
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual(
      expect.arrayContaining(["Phase", "Owner", "Expires", "Age"]),
    );
  });

  it("carry defaults so the API server fills them in", () => {
    const workshop = customResourceDefinitions().find((c) => c.spec.names.kind === "Workshop")!;
    const spec = workshop.spec.versions[0]!.schema.openAPIV3Schema.properties.spec as {
      properties: Record<string, { default?: unknown; properties?: Record<string, unknown> }>;
    };
    expect(spec.properties.lifetime?.default).toBe("2h");
    expect(spec.properties.sandbox?.default).toEqual({});
    expect(spec.properties.sandbox?.properties?.workers).toMatchObject({ default: 3 });
  });

  it("refuse schemas that are not structural, naming the path", () => {
    const union = z.object({ a: z.union([z.string(), z.number()]) });
    expect(() => toStructuralSchema(union)).toThrow(/'\/a' uses 'anyOf'/);
  });
});
