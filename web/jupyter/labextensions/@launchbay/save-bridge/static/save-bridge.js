// launchbay's save bridge, the JupyterLab side: a prebuilt JupyterLab extension, written
// by hand as the module-federation container JupyterLab loads (`_JUPYTERLAB[name]` with
// `init` and `get`), so it needs no build step and shares no module with JupyterLab.
//
// It keeps a WebSocket open to the launcher on this sandbox's own origin
// (`/s/<id>/save-bridge`, authenticated by the origin's sandbox cookie). When the launcher
// sends `{type: "save", request}` (before "Download my work" and before the sandbox is
// stopped), it saves every open document with unsaved changes and answers
// `{type: "saved", request, saved, failed}`. It does nothing else: no other message is
// acted on, and nothing but the launcher (this origin's own server) can reach the socket.
// `document.body.dataset.launchbaySaveBridge` says whether it is connected.
var _JUPYTERLAB;
(() => {
  const NAME = "@launchbay/save-bridge";

  /** The bridge's address, or null outside a launchbay sandbox (`/s/<id>/notebook/`). */
  function bridgeUrl() {
    const config = document.getElementById("jupyter-config-data");
    let base = "";
    try {
      base = JSON.parse(config ? config.textContent : "{}").baseUrl || "";
    } catch {
      return null;
    }
    const match = /^\/s\/([a-z0-9-]+)\/notebook\/$/.exec(base);
    if (!match) return null;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/s/${match[1]}/save-bridge`;
  }

  /** The document contexts of every open document widget (each once). */
  function openContexts(app) {
    const contexts = new Set();
    for (const area of ["main", "down"]) {
      let widgets;
      try {
        widgets = app.shell.widgets(area);
      } catch {
        continue;
      }
      for (const widget of widgets) {
        const context = widget?.context;
        if (context?.model && typeof context.save === "function") contexts.add(context);
      }
    }
    return [...contexts];
  }

  async function saveAll(app) {
    const dirty = openContexts(app).filter(
      (c) =>
        c.model.dirty &&
        !c.model.readOnly &&
        !c.isDisposed &&
        !(c.contentsModel && c.contentsModel.writable === false),
    );
    const results = await Promise.allSettled(dirty.map((c) => c.save()));
    const failed = results.filter((r) => r.status === "rejected");
    for (const r of failed) console.warn("launchbay save bridge: a save failed", r.reason);
    return { saved: results.length - failed.length, failed: failed.length };
  }

  function connect(app, url, delayMs) {
    const ws = new WebSocket(url);
    ws.onopen = () => {
      delayMs = 1000;
      document.body.dataset.launchbaySaveBridge = "connected";
    };
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg?.type !== "save" || !Number.isSafeInteger(msg.request)) return;
      saveAll(app).then(
        (result) => {
          if (ws.readyState === WebSocket.OPEN)
            ws.send(JSON.stringify({ type: "saved", request: msg.request, ...result }));
        },
        (err) => console.warn("launchbay save bridge: saving failed", err),
      );
    };
    ws.onclose = () => {
      document.body.dataset.launchbaySaveBridge = "disconnected";
      // Reconnects (the launcher restarted, the network dropped), waiting longer each time.
      setTimeout(() => connect(app, url, Math.min(delayMs * 2, 30_000)), delayMs);
    };
  }

  const plugin = {
    id: `${NAME}:plugin`,
    description: "Saves every open document when the launchbay launcher asks.",
    autoStart: true,
    activate: (app) => {
      const url = bridgeUrl();
      if (url) connect(app, url, 1000);
    },
  };

  _JUPYTERLAB = _JUPYTERLAB || {};
  _JUPYTERLAB[NAME] = {
    init: () => Promise.resolve(),
    get: (module) =>
      module === "./extension"
        ? Promise.resolve(() => ({ __esModule: true, default: plugin }))
        : Promise.reject(new Error(`Module ${module} does not exist in container ${NAME}.`)),
  };
})();
