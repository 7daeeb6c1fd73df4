import { stringify } from "yaml";
import { type CustomResourceDefinition, customResourceDefinitions } from "./crds.js";

const HEADER =
  "# Generated from the zod schemas in operator/src/api by `npm run crds`. Do not edit.\n";

/** File name → YAML text of every generated CRD. */
export function renderCrdFiles(
  crds: CustomResourceDefinition[] = customResourceDefinitions(),
): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of crds) {
    files.set(
      `${crd.metadata.name}.yaml`,
      HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false }),
    );
  }
  return files;
}
