import { z } from "zod";
import {
  affinitySchema,
  networkPolicyPeerSchema,
  nodeSelectorSchema,
  placementSchema,
  tolerationsSchema,
} from "../api/placement.js";
import { sandboxTemplateSchema, WORKSHOP_DEFAULTS } from "../api/workshop.js";

/**
 * The parts of the chart's values.schema.json that come from the zod schemas, so the chart
 * and the operator accept exactly the same sandbox template and Kubernetes scheduling
 * fields (a typo such as `matchLabel` fails `helm install` instead of widening a
 * NetworkPolicy). `npm run crds` writes them into `definitions`; a test checks for drift.
 */
export const GENERATED_NOTE =
  "Generated from the zod schemas in operator/src/api by `npm run crds`.";

const toDraft7 = (schema: z.ZodType): Record<string, unknown> => {
  const json = z.toJSONSchema(schema, {
    io: "input",
    target: "draft-7",
    unrepresentable: "throw",
    cycles: "throw",
    reused: "inline",
  }) as Record<string, unknown>;
  delete json.$schema;
  return { ...closed(json), $comment: GENERATED_NOTE };
};

/**
 * The CEL rules the CRD carries, as JSON schema for Helm (which ignores
 * x-kubernetes-validations): only the reserved-variable rule has one so far.
 */
const CEL_AS_JSON_SCHEMA: Record<string, Record<string, unknown>> = {
  "!self.startsWith('LAUNCHBAY_') && self != 'NOTEBOOK_TOKEN'": {
    not: { anyOf: [{ pattern: "^LAUNCHBAY_" }, { const: "NOTEBOOK_TOKEN" }] },
  },
};

/** Every object with named properties refuses others: a typo in values fails the install. */
function closed(node: unknown): Record<string, unknown> {
  if (Array.isArray(node)) return node.map(closed) as unknown as Record<string, unknown>;
  if (typeof node !== "object" || node === null) return node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "x-kubernetes-validations") {
      for (const { rule } of value as { rule: string }[]) {
        const equivalent = CEL_AS_JSON_SCHEMA[rule];
        if (!equivalent) throw new Error(`no JSON schema equivalent for the CEL rule ${rule}`);
        Object.assign(out, equivalent);
      }
      continue;
    }
    out[key] = closed(value);
  }
  if (out.type === "object" && out.properties && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** Replaces the named properties of an object schema with references to definitions. */
function referencing(
  schema: Record<string, unknown>,
  refs: Record<string, string>,
): Record<string, unknown> {
  const properties = { ...(schema.properties as Record<string, Record<string, unknown>>) };
  for (const [property, definition] of Object.entries(refs)) {
    const { description } = properties[property] ?? {};
    properties[property] = {
      $ref: `#/definitions/${definition}`,
      ...(description ? { description } : {}),
    };
  }
  return { ...schema, properties };
}

/** definitions name → JSON schema (draft-07). */
export function generatedValuesDefinitions(): Record<string, Record<string, unknown>> {
  return {
    nodeSelector: toDraft7(nodeSelectorSchema),
    tolerations: toDraft7(tolerationsSchema),
    affinity: toDraft7(affinitySchema),
    placement: referencing(toDraft7(placementSchema), {
      nodeSelector: "nodeSelector",
      tolerations: "tolerations",
      affinity: "affinity",
    }),
    networkPolicyPeers: toDraft7(z.array(networkPolicyPeerSchema).max(64)),
    workshopSandbox: referencing(toDraft7(sandboxTemplateSchema), { placement: "placement" }),
  };
}

/** `workshop.<key>` → its default, the Workshop schema's (values.yaml holds the same, tested). */
export const WORKSHOP_VALUE_DEFAULTS: Record<string, unknown> = {
  lifetime: WORKSHOP_DEFAULTS.lifetime,
  maxLifetime: WORKSHOP_DEFAULTS.maxLifetime,
  idleTimeout: "",
  warmPool: WORKSHOP_DEFAULTS.warmPool,
  archiveRetentionDays: WORKSHOP_DEFAULTS.archiveRetentionDays,
};

interface ValuesSchema {
  definitions?: Record<string, unknown>;
  properties?: { workshop?: { properties?: Record<string, Record<string, unknown>> } };
}

/**
 * The values schema text with its generated definitions replaced and the Workshop's
 * defaults written into `workshop.*` (other keys untouched).
 */
export function withGeneratedDefinitions(valuesSchemaText: string): string {
  const schema = JSON.parse(valuesSchemaText) as ValuesSchema;
  schema.definitions = { ...schema.definitions, ...generatedValuesDefinitions() };
  const workshop = schema.properties?.workshop?.properties ?? {};
  for (const [key, value] of Object.entries(WORKSHOP_VALUE_DEFAULTS)) {
    if (workshop[key]) workshop[key] = { ...workshop[key], default: value };
  }
  return `${JSON.stringify(schema, null, 2)}\n`;
}
