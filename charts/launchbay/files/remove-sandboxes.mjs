// The chart's pre-delete hook: before `helm uninstall` removes the operator, delete every
// Workshop and Sandbox in the release namespace and wait until the Sandboxes are gone. The
// operator's finalizer removes a Sandbox only once its namespace is gone, so "no Sandboxes
// left" means "no sandbox namespaces left". Dependency-free (node:https), so it runs from a
// ConfigMap in the operator image, or from a checkout with any Node >= 20.
//
// In a pod it uses the pod's service-account token and the in-cluster API address. Out of
// cluster, set LAUNCHBAY_API_SERVER (https://host:port), LAUNCHBAY_API_TOKEN and
// LAUNCHBAY_API_CA_FILE. Always set LAUNCHBAY_NAMESPACE; LAUNCHBAY_TIMEOUT_SECONDS
// (default 300) bounds the wait. Exit status 0: nothing left; 1: something is left or the
// API refused (the message says what).
import { readFileSync } from "node:fs";
import { request } from "node:https";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const GROUP_PATH = "/apis/launchbay.dev/v1alpha1";

function fail(message) {
  process.stderr.write(`remove-sandboxes: ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), msg: message, component: "remove-sandboxes" })}\n`,
  );
}

function settings() {
  const namespace = process.env.LAUNCHBAY_NAMESPACE;
  if (!namespace) fail("set LAUNCHBAY_NAMESPACE to the release namespace");
  const timeoutSeconds = Number(process.env.LAUNCHBAY_TIMEOUT_SECONDS ?? "300");
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
    fail("LAUNCHBAY_TIMEOUT_SECONDS must be a positive whole number of seconds");
  }
  let server = process.env.LAUNCHBAY_API_SERVER;
  if (!server) {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
    if (!host)
      fail("not in a pod: set LAUNCHBAY_API_SERVER, LAUNCHBAY_API_TOKEN, LAUNCHBAY_API_CA_FILE");
    server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  const token = process.env.LAUNCHBAY_API_TOKEN ?? readFileSync(`${SA_DIR}/token`, "utf8").trim();
  const ca = readFileSync(process.env.LAUNCHBAY_API_CA_FILE ?? `${SA_DIR}/ca.crt`);
  return { namespace, timeoutSeconds, server: new URL(server), token, ca };
}

function call(cfg, method, path) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: cfg.server.hostname.replace(/^\[|\]$/g, ""),
        port: cfg.server.port || 443,
        path,
        method,
        ca: cfg.ca,
        headers: { authorization: `Bearer ${cfg.token}`, accept: "application/json" },
        timeout: 30_000,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status === 404 && method === "DELETE") return resolve(undefined);
          if (status >= 300) {
            return reject(new Error(`${method} ${path}: HTTP ${status}: ${text.slice(0, 500)}`));
          }
          resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

async function names(cfg, plural) {
  const list = await call(cfg, "GET", `${GROUP_PATH}/namespaces/${cfg.namespace}/${plural}`);
  return list.items.map((item) => item.metadata.name);
}

async function deleteAll(cfg, plural) {
  const found = await names(cfg, plural);
  for (const name of found) {
    await call(cfg, "DELETE", `${GROUP_PATH}/namespaces/${cfg.namespace}/${plural}/${name}`);
  }
  return found.length;
}

async function main() {
  const cfg = settings();
  // Workshops first, so no warm pool refills while the Sandboxes go.
  const workshops = await deleteAll(cfg, "workshops");
  const sandboxes = await deleteAll(cfg, "sandboxes");
  log(`Deleting ${workshops} Workshop(s) and ${sandboxes} Sandbox(es) in ${cfg.namespace}`);
  const deadline = Date.now() + cfg.timeoutSeconds * 1000;
  for (;;) {
    const left = await names(cfg, "sandboxes");
    if (left.length === 0) {
      log(`No Sandboxes left in ${cfg.namespace}`);
      return;
    }
    if (Date.now() > deadline) {
      fail(
        `${left.length} Sandbox(es) still in ${cfg.namespace} after ${cfg.timeoutSeconds}s (${left.slice(0, 10).join(", ")}): ` +
          "is the operator running? Check its logs; `kubectl get sandboxes` shows what each is waiting for",
      );
    }
    // Re-issue deletes (a Sandbox created meanwhile by a launch still in flight goes too).
    await deleteAll(cfg, "sandboxes");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

main().catch((error) => fail(error.message));
