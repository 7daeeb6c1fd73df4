// The Kubernetes API calls of the chart's hook scripts (remove-sandboxes.mjs,
// ensure-secrets.mjs): dependency-free (node:https), so they run from a ConfigMap in the
// operator image, or from a checkout with any Node >= 20.
//
// In a pod they use the pod's service-account token and the in-cluster API address. Out of
// cluster, set LAUNCHBAY_API_SERVER (https://host:port), LAUNCHBAY_API_TOKEN and
// LAUNCHBAY_API_CA_FILE. Always set LAUNCHBAY_NAMESPACE (the release namespace).
import { readFileSync } from "node:fs";
import { request } from "node:https";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Prints `<component>: <message>` on stderr and exits 1. */
export function failer(component) {
  return (message) => {
    process.stderr.write(`${component}: ${message}\n`);
    process.exit(1);
  };
}

/** One JSON log line on stdout. */
export function logger(component) {
  return (message) =>
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), msg: message, component })}\n`,
    );
}

/** The release namespace and how to reach the API server; fail() when something is missing. */
export function apiSettings(fail) {
  const namespace = process.env.LAUNCHBAY_NAMESPACE;
  if (!namespace) fail("set LAUNCHBAY_NAMESPACE to the release namespace");
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
  return { namespace, server: new URL(server), token, ca };
}

/**
 * One API call (a PATCH body is a JSON patch). Resolves with the parsed body, or undefined for a DELETE of something
 * already gone; rejects with an Error carrying `status` for any other answer >= 300.
 */
export function call(cfg, method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: cfg.server.hostname.replace(/^\[|\]$/g, ""),
        port: cfg.server.port || 443,
        path,
        method,
        ca: cfg.ca,
        headers: {
          authorization: `Bearer ${cfg.token}`,
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : {
                "content-type":
                  method === "PATCH" ? "application/json-patch+json" : "application/json",
              }),
        },
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
            const error = new Error(`${method} ${path}: HTTP ${status}: ${text.slice(0, 500)}`);
            error.status = status;
            return reject(error);
          }
          resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}
