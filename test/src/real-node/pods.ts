import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { kubectl, ok } from "../helm/chart-tools.js";

/** The image references of the values file `npm run images` wrote (LAUNCHBAY_IMAGE_VALUES). */
export async function builtImages(valuesFile: string): Promise<Record<string, string>> {
  const values = parse(await readFile(valuesFile, "utf8")) as {
    images: Record<string, { repository: string; tag: string }>;
  };
  const refs: Record<string, string> = {};
  for (const name of ["operator", "web", "scheduler", "worker", "notebook"]) {
    const image = values.images[name];
    if (!image) throw new Error(`${valuesFile} has no images.${name}`);
    refs[name] = `${image.repository}:${image.tag}`;
  }
  return refs;
}

export const getJson = async <T>(...args: string[]): Promise<T> =>
  JSON.parse(ok(await kubectl([...args, "-o", "json"]), `kubectl ${args.join(" ")}`)) as T;

/** A pod that passes Pod Security `restricted`, running `node -e <script>` in the given image. */
export function nodePod(options: {
  name: string;
  namespace: string;
  image: string;
  script: string;
  labels?: Record<string, string>;
}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: options.name, namespace: options.namespace, labels: options.labels ?? {} },
    spec: {
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "main",
          image: options.image,
          imagePullPolicy: "Never",
          command: ["node", "-e", options.script],
          resources: {
            requests: { cpu: "10m", memory: "48Mi" },
            limits: { cpu: "200m", memory: "128Mi" },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

/** Idles forever (probes run in it with `kubectl exec`). */
export const idleScript = "setInterval(() => {}, 1 << 30)";

/** A TCP server standing for "the internet": accepts and closes every connection. */
export const listenScript =
  "require('node:net').createServer((s) => s.end('hello\\n')).listen(8080, '0.0.0.0')";

/**
 * Opens one real TCP connection from inside a pod; prints `connected`, `timeout` (nothing
 * answered in 3 s: a dropped SYN), or `error:<code>` (refused, unreachable...).
 */
const probeScript = `
const [host, port] = process.argv.slice(1);
const socket = require("node:net").connect({ host, port: Number(port) });
const timer = setTimeout(() => { console.log("timeout"); process.exit(0); }, 3000);
socket.on("connect", () => { console.log("connected"); process.exit(0); });
socket.on("error", (e) => { clearTimeout(timer); console.log("error:" + e.code); process.exit(0); });
`;

export type ProbeResult = "connected" | "timeout" | `error:${string}`;

export async function probeTcp(
  from: { namespace: string; pod: string; container?: string },
  host: string,
  port: number,
): Promise<ProbeResult> {
  const result = await kubectl([
    "exec",
    "-n",
    from.namespace,
    from.pod,
    ...(from.container ? ["-c", from.container] : []),
    "--",
    "node",
    "-e",
    probeScript,
    host,
    String(port),
  ]);
  return ok(
    result,
    `probe ${host}:${port} from ${from.namespace}/${from.pod}`,
  ).trim() as ProbeResult;
}

/** Resolves a name with the pod's resolver (cluster DNS); the addresses, or `error:<code>`. */
export async function probeDns(
  from: { namespace: string; pod: string; container?: string },
  name: string,
): Promise<string> {
  const script = `require("node:dns").promises.lookup(process.argv[1]).then((a) => console.log(a.address), (e) => console.log("error:" + e.code))`;
  const result = await kubectl([
    "exec",
    "-n",
    from.namespace,
    from.pod,
    ...(from.container ? ["-c", from.container] : []),
    "--",
    "node",
    "-e",
    script,
    name,
  ]);
  return ok(result, `resolve ${name} from ${from.namespace}/${from.pod}`).trim();
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: { nodeName?: string };
    status: {
      phase: string;
      podIP?: string;
      containerStatuses?: { ready: boolean; state: Record<string, unknown> }[];
    };
  }[];
}

export async function podsIn(namespace: string, selector?: string): Promise<PodList["items"]> {
  const list = await getJson<PodList>(
    "get",
    "pods",
    "-n",
    namespace,
    ...(selector ? ["-l", selector] : []),
  );
  return list.items;
}

/** Applies objects (JSON documents) with kubectl. */
export async function apply(objects: object[]): Promise<void> {
  ok(
    await kubectl(["apply", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n---\n")),
    "kubectl apply",
  );
}

/** Waits for every named pod to be Ready (kubectl wait: a watch, not a poll in the test). */
export async function waitPodsReady(namespace: string, names: string[], timeout = "120s") {
  ok(
    await kubectl([
      "wait",
      "-n",
      namespace,
      "--for=condition=Ready",
      `--timeout=${timeout}`,
      ...names.map((n) => `pod/${n}`),
    ]),
    `pods ${names.join(", ")} in ${namespace} Ready`,
  );
}
