import { LABELS, PORTS } from "../api/constants.js";
import { type SandboxRef, childLabels } from "./labels.js";
import type { KubeObject } from "./kube-object.js";
import type { SandboxDefaults } from "./operator-config.js";

/** The cloud metadata address and the private and link-local ranges sandboxes never reach. */
export const BLOCKED_EGRESS_CIDRS = [
  "169.254.0.0/16",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
];

const nsSelector = (namespace: string) => ({
  matchLabels: { "kubernetes.io/metadata.name": namespace },
});

/**
 * Deny everything, then allow: traffic inside the namespace, DNS to the cluster's DNS pods,
 * ingress to the notebook and scheduler from the launcher's pods (and to the notebook from
 * the operator's, for the idle probe), and optionally public-internet egress.
 */
export function networkPolicies(input: {
  ref: SandboxRef;
  namespace: string;
  defaults: SandboxDefaults;
  internetEgress: boolean;
  /** The notebook pod's archive container reaches the object storage. */
  archive?: boolean;
}): KubeObject[] {
  const { ref, namespace, defaults } = input;
  const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: childLabels(ref) },
    spec,
  });
  const policies = [
    policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    policy("allow-same-namespace", {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    policy("allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: nsSelector(defaults.dns.namespace),
              podSelector: { matchLabels: defaults.dns.podLabels },
            },
          ],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
      ],
    }),
    policy("allow-launcher", {
      podSelector: {
        matchExpressions: [
          { key: LABELS.component, operator: "In", values: ["notebook", "scheduler"] },
        ],
      },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: nsSelector(defaults.launcher.namespace),
              podSelector: { matchLabels: defaults.launcher.podLabels },
            },
          ],
          ports: [
            { protocol: "TCP", port: PORTS.notebook },
            { protocol: "TCP", port: PORTS.scheduler },
          ],
        },
      ],
    }),
    policy("allow-operator-probe", {
      podSelector: { matchLabels: { [LABELS.component]: "notebook" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: nsSelector(defaults.operator.namespace),
              podSelector: { matchLabels: defaults.operator.podLabels },
            },
          ],
          ports: [{ protocol: "TCP", port: PORTS.notebook }],
        },
      ],
    }),
  ];
  if (input.internetEgress) {
    policies.push(
      policy("allow-internet-egress", {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: BLOCKED_EGRESS_CIDRS } }] }],
      }),
    );
  }
  if (input.archive && defaults.archive) {
    // Per pod, not per container: the notebook container can reach these peers too. The
    // chart's archive.egress narrows them to the storage endpoint's addresses.
    policies.push(
      policy("allow-archive-egress", {
        podSelector: { matchLabels: { [LABELS.component]: "notebook" } },
        policyTypes: ["Egress"],
        egress: [
          {
            to: defaults.archive.egress,
            ports: [{ protocol: "TCP", port: defaults.archive.port }],
          },
        ],
      }),
    );
  }
  return policies;
}
