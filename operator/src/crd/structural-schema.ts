import { z } from "zod";

/** A JSON (OpenAPI v3) schema node as Kubernetes stores it in a CRD. */
export type SchemaNode = { [key: string]: unknown };

/** Keys a structural schema may not use (they would make the API server reject the CRD). */
const FORBIDDEN = ["$ref", "anyOf", "oneOf", "allOf", "not", "$defs", "definitions"] as const;
/** Keys zod emits that carry no meaning for Kubernetes. */
const DROPPED = ["$schema", "id", "$id", "title"] as const;

/**
 * Converts a zod schema into a structural OpenAPI v3 schema for a CRD: inputs (so fields
 * with defaults are optional and the API server fills them), every reference inlined,
 * every node typed, date-time strings checked by `format` rather than a long regex.
 * Throws when the schema cannot be expressed structurally, naming the path.
 */
export function toStructuralSchema(schema: z.ZodType): SchemaNode {
  const json = z.toJSONSchema(schema, {
    io: "input",
    target: "openapi-3.0",
    unrepresentable: "throw",
    cycles: "throw",
    reused: "inline",
  }) as SchemaNode;
  return normalise(json, "");
}

function normalise(node: SchemaNode, path: string): SchemaNode {
  for (const key of FORBIDDEN) {
    if (key in node) {
      throw new Error(
        `schema at '${path || "/"}' uses '${key}', which a structural CRD schema cannot hold: ` +
          "use a flat object with x-kubernetes-validations instead",
      );
    }
  }
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if ((DROPPED as readonly string[]).includes(key)) continue;
    if (key === "pattern" && node.format === "date-time") continue;
    if (key === "properties") {
      const properties: SchemaNode = {};
      for (const [name, child] of Object.entries(value as Record<string, SchemaNode>)) {
        properties[name] = normalise(child, `${path}/${name}`);
      }
      out.properties = properties;
    } else if (key === "items") {
      out.items = normalise(value as SchemaNode, `${path}[]`);
    } else if (key === "additionalProperties" && typeof value === "object" && value !== null) {
      out.additionalProperties = normalise(value as SchemaNode, `${path}/*`);
    } else {
      out[key] = value;
    }
  }
  // zod emits additionalProperties:false only for strict objects; Kubernetes prunes
  // unknown fields anyway, and `false` is not allowed beside `properties`.
  if (out.additionalProperties === false) delete out.additionalProperties;
  if (typeof out.type !== "string") {
    throw new Error(`schema at '${path || "/"}' has no single type; structural schemas need one`);
  }
  return sortKeys(out);
}

/** Stable key order so the generated YAML does not churn. */
function sortKeys(node: SchemaNode): SchemaNode {
  const order = [
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "required",
    "properties",
    "items",
    "additionalProperties",
  ];
  const keys = Object.keys(node).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
  });
  return Object.fromEntries(keys.map((k) => [k, node[k]]));
}
