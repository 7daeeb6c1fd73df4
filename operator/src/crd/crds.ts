import {
  GROUP,
  SANDBOX_KIND,
  SANDBOX_PLURAL,
  SANDBOX_SINGULAR,
  VERSION,
  WORKSHOP_KIND,
  WORKSHOP_PLURAL,
  WORKSHOP_SINGULAR,
} from "../api/constants.js";
import { sandboxSpecSchema, sandboxStatusSchema } from "../api/sandbox.js";
import { workshopSpecSchema, workshopStatusSchema } from "../api/workshop.js";
import { type SchemaNode, toStructuralSchema } from "./structural-schema.js";

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: SchemaNode;
  status: SchemaNode;
  description: string;
  columns: PrinterColumn[];
}

/** A CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export type CustomResourceDefinition = ReturnType<typeof crd>;

function crd(input: CrdInput) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/part-of": "launchbay" },
    },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: input.shortNames,
        categories: ["launchbay"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: {
            openAPIV3Schema: {
              description: input.description,
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: input.spec,
                status: input.status,
              },
            },
          },
        },
      ],
    },
  };
}

/** The Workshop and Sandbox CRDs, generated from the zod schemas in `api/`. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return [
    crd({
      kind: WORKSHOP_KIND,
      plural: WORKSHOP_PLURAL,
      singular: WORKSHOP_SINGULAR,
      shortNames: ["ws"],
      description: "A workshop: the event whose attendees each get a sandbox.",
      spec: toStructuralSchema(workshopSpecSchema),
      status: toStructuralSchema(workshopStatusSchema),
      columns: [
        { name: "Title", type: "string", jsonPath: ".spec.title" },
        { name: "Sandboxes", type: "integer", jsonPath: ".status.sandboxes" },
        { name: "Ready", type: "integer", jsonPath: ".status.counts.Ready" },
        { name: "Warm", type: "integer", jsonPath: ".status.warm" },
        { name: "Max", type: "integer", jsonPath: ".spec.maxSandboxes" },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
    crd({
      kind: SANDBOX_KIND,
      plural: SANDBOX_PLURAL,
      singular: SANDBOX_SINGULAR,
      shortNames: ["sbx"],
      description: "One attendee's sandbox: a private scheduler, workers and notebook.",
      spec: toStructuralSchema(sandboxSpecSchema),
      status: toStructuralSchema(sandboxStatusSchema),
      columns: [
        { name: "Workshop", type: "string", jsonPath: ".spec.workshop" },
        { name: "Phase", type: "string", jsonPath: ".status.phase" },
        { name: "Owner", type: "string", jsonPath: ".spec.owner" },
        // "string", not "date": kubectl renders future dates in a date column as <invalid>.
        { name: "Expires", type: "string", jsonPath: ".status.expiresAt" },
        { name: "Namespace", type: "string", jsonPath: ".status.namespace", priority: 1 },
        { name: "Message", type: "string", jsonPath: ".status.message", priority: 1 },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
  ];
}
