// The chart's pre-install/pre-upgrade hook: makes sure the Secrets whose values the chart
// generates exist in the release namespace, creating each once with random values (and
// adding a key a Secret lacks). It never changes a value that is there, so `helm template`
// renders stay byte-identical (no random value is rendered) and GitOps syncs (Argo CD runs
// Helm hooks as PreSync hooks, Flux runs them as Helm does) restart nothing.
//
// LAUNCHBAY_SECRETS: JSON list of {"name", "keys": {"<key>": <characters>}, "labels"}.
// API access: see kube-api.mjs. Exit status 0: every Secret has every key; 1: the API
// refused (the message says what).
import { randomBytes } from "node:crypto";
import { apiSettings, call, failer, logger } from "./kube-api.mjs";

const fail = failer("ensure-secrets");
const log = logger("ensure-secrets");
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` random alphanumeric characters (rejection sampling: no modulo bias). */
function randomText(length) {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

function wanted() {
  let secrets;
  try {
    secrets = JSON.parse(process.env.LAUNCHBAY_SECRETS ?? "");
  } catch {
    fail('set LAUNCHBAY_SECRETS to a JSON list of {"name", "keys": {"<key>": <length>}}');
  }
  for (const s of secrets) {
    if (typeof s?.name !== "string" || typeof s.keys !== "object") {
      fail(`each entry of LAUNCHBAY_SECRETS needs a name and keys: ${JSON.stringify(s)}`);
    }
  }
  return secrets;
}

function values(keys) {
  const data = {};
  for (const [key, length] of Object.entries(keys)) {
    data[key] = Buffer.from(randomText(length)).toString("base64");
  }
  return data;
}

async function ensure(cfg, secret) {
  const path = `/api/v1/namespaces/${cfg.namespace}/secrets`;
  let existing;
  try {
    existing = await call(cfg, "GET", `${path}/${secret.name}`);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  if (!existing) {
    try {
      await call(cfg, "POST", path, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: secret.name, namespace: cfg.namespace, labels: secret.labels ?? {} },
        type: "Opaque",
        data: values(secret.keys),
      });
      log(`Created Secret ${secret.name}`);
      return;
    } catch (error) {
      // 409: another run created it meanwhile; check its keys below.
      if (error.status !== 409) throw error;
      existing = await call(cfg, "GET", `${path}/${secret.name}`);
    }
  }
  const missing = Object.fromEntries(
    Object.entries(secret.keys).filter(([key]) => !(key in (existing.data ?? {}))),
  );
  if (Object.keys(missing).length === 0) {
    log(`Secret ${secret.name} is there; kept as it is`);
    return;
  }
  await call(cfg, "PATCH", `${path}/${secret.name}`, [
    ...(existing.data ? [] : [{ op: "add", path: "/data", value: {} }]),
    ...Object.entries(values(missing)).map(([key, value]) => ({
      op: "add",
      path: `/data/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`,
      value,
    })),
  ]);
  log(`Added ${Object.keys(missing).join(", ")} to Secret ${secret.name}`);
}

async function main() {
  const cfg = apiSettings(fail);
  for (const secret of wanted()) await ensure(cfg, secret);
}

main().catch((error) => fail(error.message));
