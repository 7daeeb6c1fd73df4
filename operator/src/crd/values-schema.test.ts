import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { sandboxTemplateSchema, workshopSpecSchema } from "../api/workshop.js";
import { WORKSHOP_VALUE_DEFAULTS, withGeneratedDefinitions } from "./values-schema.js";

const chartDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../charts/launchbay");
const valuesSchemaText = readFileSync(resolve(chartDir, "values.schema.json"), "utf8");
const values = parse(readFileSync(resolve(chartDir, "values.yaml"), "utf8")) as {
  workshop: Record<string, unknown> & { sandbox: Record<string, unknown> };
};

describe("the chart's values schema", () => {
  it("holds the definitions generated from the zod schemas (run `npm run crds` after changing one)", () => {
    expect(valuesSchemaText).toBe(withGeneratedDefinitions(valuesSchemaText));
  });

  it("types the sandbox template exactly as the Workshop CRD does", () => {
    const schema = JSON.parse(valuesSchemaText);
    expect(schema.properties.workshop.properties.sandbox).toEqual({
      $ref: "#/definitions/workshopSandbox",
    });
    const sandbox = schema.definitions.workshopSandbox;
    // The zod schema's limits, e.g. the env var name length that once drifted.
    expect(sandbox.properties.env.items.properties.name.maxLength).toBe(128);
    expect(sandbox.additionalProperties).toBe(false);
  });

  it("has the Workshop schema's defaults in values.yaml (one set of defaults)", () => {
    const defaults = workshopSpecSchema.parse({ title: "t" });
    expect(values.workshop.lifetime).toBe(defaults.lifetime);
    expect(values.workshop.maxLifetime).toBe(defaults.maxLifetime);
    expect(values.workshop.warmPool).toBe(defaults.warmPool);
    // No idle expiry unless asked for: the schema leaves it out, the values leave it empty.
    expect(defaults.idleTimeout).toBeUndefined();
    expect(values.workshop.idleTimeout).toBe("");
    // values.schema.json states the same defaults.
    const schema = JSON.parse(valuesSchemaText);
    for (const [key, value] of Object.entries(WORKSHOP_VALUE_DEFAULTS)) {
      expect(schema.properties.workshop.properties[key].default, key).toEqual(value);
      expect(values.workshop[key], key).toEqual(value);
    }
    // Everything the values set on the sandbox equals the schema's default.
    const { placement: _placement, ...rest } = values.workshop.sandbox;
    expect(rest).toEqual(
      Object.fromEntries(
        Object.entries(sandboxTemplateSchema.parse({})).filter(([k]) => k in rest),
      ),
    );
  });
});
