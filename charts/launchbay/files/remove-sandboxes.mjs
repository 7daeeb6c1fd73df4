// The chart's pre-delete hook: before `helm uninstall` removes the operator, delete every
// Workshop and Sandbox in the release namespace and wait until the Sandboxes are gone. The
// operator's finalizer removes a Sandbox only once its namespace is gone, so "no Sandboxes
// left" means "no sandbox namespaces left". API access: see kube-api.mjs.
// LAUNCHBAY_TIMEOUT_SECONDS (default 300) bounds the wait. Exit status 0: nothing left; 1: something is left or the
// API refused (the message says what).
import { apiSettings, call, failer, logger } from "./kube-api.mjs";

const GROUP_PATH = "/apis/launchbay.dev/v1alpha1";
const fail = failer("remove-sandboxes");
const log = logger("remove-sandboxes");

function settings() {
  const cfg = apiSettings(fail);
  const timeoutSeconds = Number(process.env.LAUNCHBAY_TIMEOUT_SECONDS ?? "300");
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
    fail("LAUNCHBAY_TIMEOUT_SECONDS must be a positive whole number of seconds");
  }
  return { ...cfg, timeoutSeconds };
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
