import { join } from "node:path";
import { type BuildAppOptions, buildApp } from "./app.js";
import type { Backend } from "./backend/backend.js";
import { createLocalBackend } from "./backend/local/create-local-backend.js";
import { decideIsolation } from "./backend/local/isolation.js";
import {
  COOKIE_SECRET_FILE,
  defaultStateDir,
  generateCookieSecret,
  generateOrganiserToken,
  loadOrCreateSecret,
  lockStateDir,
  ORGANISER_TOKEN_FILE,
  prepareStateDir,
} from "./backend/local/state-dir.js";
import type { WaitingLineStore } from "./core/waiting-line.js";
import { generatedSecrets, helpText, parseConfig, rawConfigFrom } from "./config.js";
import { isLauncherError } from "./errors.js";
import { createLauncherLogger, decideLogFormat } from "./log-output.js";
import { organiserTokenNotice } from "./organiser-token-notice.js";

/**
 * `node web/dist/main.js [--flag value ...]`: the launcher on http://127.0.0.1:8080 with
 * the local backend by default (`PORT`, `HOST`, `LAUNCHBAY_*` or flags to change it).
 */
async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  const raw = rawConfigFrom(process.env, process.argv.slice(2));
  let config = parseConfig(raw);
  // The secrets live in `config` from here on; nothing this process starts or loads
  // should find them in its environment.
  delete process.env.LAUNCHBAY_ORGANISER_TOKEN;
  delete process.env.LAUNCHBAY_COOKIE_SECRET;
  delete process.env.LAUNCHBAY_ACCESS_CODE;
  // On a terminal: readable one-line logs, no line per request, sandbox processes' warnings
  // only (their other output is at debug), and the address and organiser token last.
  const terminal = process.stdout.isTTY === true;
  const logFormat = decideLogFormat(config.logFormat, terminal);
  const log = createLauncherLogger({ level: config.logLevel, format: logFormat, terminal });
  let backend: Backend;
  let organiserTokenFile: { path: string; created: boolean } | undefined;
  let afterClose = () => {};
  let shared: Pick<BuildAppOptions, "organiserSessions" | "handoverNonces"> = {};
  let waitingLineStore: WaitingLineStore | undefined;
  if (config.backend === "kubernetes") {
    const { createKubernetesBackend } = await import(
      "./backend/kubernetes/create-kubernetes-backend.js"
    );
    const created = await createKubernetesBackend(config, log);
    backend = created.backend;
    shared = created.shared;
    afterClose = created.stopSweeping;
    config = { ...config, workshop: created.workshop };
  } else {
    const isolation = decideIsolation({ uid: process.getuid?.(), host: config.host });
    if (isolation.warning) process.stderr.write(`\n${isolation.warning}\n`);
    // Durable state: secrets generated once and kept, sandboxes recorded in SQLite and
    // re-adopted by the next launcher (web/README.md#restarts-and-what-survives-them).
    const stateDir = config.local.stateDir ?? defaultStateDir();
    prepareStateDir(stateDir);
    const unlock = lockStateDir(stateDir);
    if (raw.cookieSecret === undefined) {
      const kept = loadOrCreateSecret(stateDir, COOKIE_SECRET_FILE, 32, generateCookieSecret);
      config = { ...config, cookieSecret: kept.value };
    }
    if (raw.organiserToken === undefined) {
      const kept = loadOrCreateSecret(stateDir, ORGANISER_TOKEN_FILE, 16, generateOrganiserToken);
      config = { ...config, organiserToken: kept.value };
      organiserTokenFile = kept;
    }
    const { StateDb } = await import("./backend/local/state-db.js");
    const records = StateDb.open(stateDir);
    waitingLineStore = records;
    afterClose = () => {
      records.close();
      unlock();
    };
    backend = createLocalBackend(config, log, undefined, {
      records,
      logsDir: join(stateDir, "logs"),
      onClose: config.local.onExit,
    });
  }
  const app = await buildApp({
    config,
    backend,
    loggerInstance: log,
    requestLogging: logFormat === "json",
    waitingLineStore,
    ...shared,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "Shutting down: stopping every sandbox");
    await app.close();
    afterClose();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  const address = await app.listen({ host: config.host, port: config.port });
  const shown = address.replace("127.0.0.1", "localhost");
  log.info({ address, backend: backend.kind }, "Launcher listening");
  const generated = generatedSecrets(raw);
  // Shown once so the person who ran `npm start` can open /admin (set
  // LAUNCHBAY_ORGANISER_TOKEN to choose it), but never into a log: see organiser-token-notice.ts.
  const tokenLine = !generated.includes("organiserToken")
    ? ""
    : organiserTokenFile
      ? `\nlaunchbay: ${organiserTokenFile.created && process.stderr.isTTY === true ? `organiser token (shown once, not logged): ${config.organiserToken}; ` : ""}organiser token ${organiserTokenFile.created ? "written to" : "kept in"} ${organiserTokenFile.path} (readable by this user only; delete the file for a new one)`
      : `\nlaunchbay: ${await organiserTokenNotice({ token: config.organiserToken, terminal: process.stderr.isTTY === true })}`;
  process.stderr.write(
    `\nlaunchbay: open ${shown}/ to launch; organiser page ${shown}/admin${tokenLine}\n\n`,
  );
}

main().catch((err: unknown) => {
  if (isLauncherError(err)) {
    process.stderr.write(`launchbay: ${err.message}\n`);
  } else {
    process.stderr.write(
      `launchbay: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
