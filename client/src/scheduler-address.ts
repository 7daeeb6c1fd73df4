/** Where to find the scheduler: an explicit address, else `LAUNCHBAY_SCHEDULER`. */
import { LaunchbayError } from "./errors.js";

/** Normalises `ws://host:port`, `wss://…`, `http(s)://…`, `tcp://host:port` or `host:port` to a WebSocket URL. */
export function resolveSchedulerAddress(
  address: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const given = address ?? env.LAUNCHBAY_SCHEDULER;
  if (given === undefined || given.trim() === "") {
    throw new LaunchbayError(
      "no-address",
      'no scheduler address: pass one (Client.connect("ws://127.0.0.1:8786")), set LAUNCHBAY_SCHEDULER, ' +
        "or start one on this machine with LocalCluster.start()",
    );
  }
  const text = given.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `ws://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw badAddress(text, "it is not a URL");
  }
  const scheme = { "ws:": "ws:", "wss:": "wss:", "http:": "ws:", "https:": "wss:", "tcp:": "ws:" }[
    url.protocol
  ];
  if (!scheme)
    throw badAddress(text, `the scheme ${url.protocol} is not one of ws, wss, http, https, tcp`);
  if (!url.hostname) throw badAddress(text, "it names no host");
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw badAddress(text, "the scheduler address has no path, query or fragment");
  }
  // Like Dask: a bare host (or tcp://host) without a port means the default scheduler port.
  const port = url.port === "" && (withScheme !== text || url.protocol === "tcp:") ? ":8786" : "";
  return `${scheme}//${url.host}${port}`;
}

function badAddress(address: string, why: string): LaunchbayError {
  return new LaunchbayError(
    "bad-address",
    `scheduler address ${JSON.stringify(address)} is not valid: ${why}. Expected ws://host:port (e.g. ws://127.0.0.1:8786)`,
  );
}
