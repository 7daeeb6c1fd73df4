import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { kubectl, ok, repoRoot, run } from "./chart-tools.js";

/** The bin directory of the pinned chart linters (ct, kubeconform, kube-score, yamllint, yamale). */
export async function lintToolsDir(): Promise<string> {
  const result = await run("bash", [join(repoRoot, "test/k8s/build-lint-tools.sh"), "--print-dir"]);
  return ok(result, "test/k8s/build-lint-tools.sh --print-dir").trim();
}

type Schema = Record<string, unknown>;

interface OpenApiV2 {
  definitions: Record<
    string,
    Schema & {
      "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string }[];
    }
  >;
}

/**
 * Writes kubeconform's schema layout (`<kind><-group><-version>.json`, standalone: every
 * `$ref` inlined; strict: objects refuse unknown fields) from the API server's own OpenAPI v2
 * document, so the manifests are checked against exactly the API (CRDs included) of the
 * control plane the tests run, with nothing downloaded. Returns kubeconform's
 * `-schema-location` template for it.
 */
export async function writeKubeconformSchemas(dir: string): Promise<string> {
  const doc = JSON.parse(
    ok(await kubectl(["get", "--raw", "/openapi/v2"]), "GET /openapi/v2"),
  ) as OpenApiV2;
  await mkdir(dir, { recursive: true });
  const resolve = (node: unknown, seen: readonly string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => resolve(n, seen));
    if (typeof node !== "object" || node === null) return node;
    const object = node as Schema;
    const ref = object.$ref;
    if (typeof ref === "string") {
      const name = ref.replace("#/definitions/", "");
      // A recursive type (JSONSchemaProps) ends as "anything" where it repeats.
      if (seen.includes(name)) return {};
      const target = doc.definitions[name];
      if (!target) throw new Error(`/openapi/v2 has no definition ${name} (from ${ref})`);
      const { $ref: _ref, ...rest } = object;
      return { ...(resolve(target, [...seen, name]) as Schema), ...rest };
    }
    // As openapi2jsonschema does: int-or-string and quantities accept both spellings.
    if (object.format === "int-or-string") {
      return { oneOf: [{ type: "string" }, { type: "integer" }] };
    }
    const out: Schema = {};
    for (const [key, value] of Object.entries(object)) {
      // (A `properties` map is resolved entry by entry the same way.)
      out[key] = resolve(value, seen);
    }
    if (out.type === "object" && out.properties && out.additionalProperties === undefined) {
      out.additionalProperties = false;
    }
    return out;
  };
  const quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity";
  if (doc.definitions[quantity]) {
    doc.definitions[quantity] = { oneOf: [{ type: "string" }, { type: "number" }] };
  }
  let written = 0;
  for (const [name, definition] of Object.entries(doc.definitions)) {
    for (const gvk of definition["x-kubernetes-group-version-kind"] ?? []) {
      const group = gvk.group ? `-${gvk.group.split(".")[0]}` : "";
      const file = `${gvk.kind.toLowerCase()}${group}-${gvk.version}.json`.toLowerCase();
      const schema = resolve(definition, [name]) as Schema;
      await writeFile(join(dir, file), JSON.stringify(schema));
      written++;
    }
  }
  if (written < 50) throw new Error(`only ${written} kinds in /openapi/v2: is the API server up?`);
  return join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json");
}
