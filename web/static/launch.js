// The launch page: capacity, Launch, and the live progress view over WebSocket.
(() => {
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let slowTimer = null;
  let workshop = null;
  let current = null; // the last view of the attendee's sandbox (or place in line)
  let reconnectMs = 1000;

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    return { status: res.status, data };
  }

  function showError(text) {
    $("launch-error").textContent = text;
    $("launch-error").classList.toggle("hidden", !text);
  }

  function renderCapacity(cap) {
    $("capacity").textContent =
      `${cap.left} of ${cap.max} sandboxes left` + (cap.queued ? ` · ${cap.queued} in line` : "");
    const full = (cap.left === 0 || cap.waiting > 0) && !workshop?.mySandbox;
    $("full").classList.toggle("hidden", !full);
    if (!workshop?.mySandbox) $("launch").textContent = full ? "Join the waiting line" : "Launch";
  }

  function render(sb) {
    current = sb;
    $("launch-card").classList.add("hidden");
    $("leave-row").classList.toggle("hidden", !sb.waiting);
    $("progress").classList.remove("hidden");
    $("headline").textContent = sb.headline;
    $("message").textContent = sb.message === sb.headline ? "" : sb.message;
    const steps = $("steps");
    steps.replaceChildren(
      ...sb.steps.map((step) => {
        const li = document.createElement("li");
        li.className = step.status;
        li.dataset.step = step.key;
        li.textContent = step.text;
        return li;
      }),
    );
    $("failed").classList.toggle("hidden", !sb.failed);
    $("failed-text").textContent = sb.failed ? `${sb.headline}: ${sb.message}` : "";
    // A sandbox that had been Ready kept its work (archived, or its notebook still runs).
    $("failed-download").classList.toggle("hidden", !(sb.failed && sb.readyAt));
    if (sb.failed)
      $("failed-download").href = `/api/sandboxes/${encodeURIComponent(sb.id)}/download`;
    clearTimeout(slowTimer);
    const starting = !sb.ready && !sb.failed && !sb.waiting;
    const elapsed = Date.now() - Date.parse(sb.requestedAt);
    $("slow").classList.toggle("hidden", !(starting && (sb.slow || elapsed > sb.typicalStartMs)));
    if (starting && !sb.slow && elapsed <= sb.typicalStartMs) {
      slowTimer = setTimeout(
        () => $("slow").classList.remove("hidden"),
        sb.typicalStartMs - elapsed + 50,
      );
    }
    if (sb.ready && sb.sandboxUrl) {
      if (socket) socket.close();
      window.location.assign(sb.sandboxUrl);
    }
  }

  function follow(id) {
    if (socket) socket.close();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(
      `${proto}//${location.host}/api/sandboxes/${encodeURIComponent(id)}/events`,
    );
    socket.onmessage = (event) => {
      reconnectMs = 1000;
      const msg = JSON.parse(event.data);
      if (msg.type === "sandbox") render(msg.sandbox);
      if (msg.type === "gone") {
        $("progress").classList.add("hidden");
        $("launch-card").classList.remove("hidden");
        $("launch").textContent = "Launch";
        showError(
          current?.waiting
            ? "You were away from this page too long and lost your place in line. Press the button to join again."
            : "Your sandbox is gone (it expired or was removed). Launch a new one.",
        );
        current = null;
        if (workshop) workshop.mySandbox = null;
        refresh();
      }
    };
    socket.onclose = (event) => {
      if (event.code === 1000 || event.wasClean) return;
      // Back off (with jitter) so a launcher restart is not met by every page at once.
      const delay = reconnectMs * (0.5 + Math.random());
      reconnectMs = Math.min(30000, reconnectMs * 2);
      setTimeout(() => follow(id), delay);
    };
  }

  async function launch() {
    showError("");
    $("launch").disabled = true;
    const body = {};
    const code = $("access-code").value.trim();
    if (code) body.accessCode = code;
    const { status, data } = await api("POST", "/api/sandboxes", body);
    $("launch").disabled = false;
    if (status === 200 || status === 201) {
      render(data);
      follow(data.id);
      return;
    }
    if (data && (data.code === "access-code-required" || data.code === "access-code-invalid")) {
      $("access-code-row").classList.remove("hidden");
      $("access-code").focus();
    }
    showError(data?.message ? data.message : `Launch failed (HTTP ${status}). Try again.`);
  }

  async function refresh() {
    const { status, data } = await api("GET", "/api/workshop");
    if (status !== 200) return;
    workshop = data;
    $("access-code-row").classList.toggle("hidden", !data.accessCodeRequired || !!data.mySandbox);
    renderCapacity(data.capacity);
    if (data.mySandbox) {
      $("launch").textContent = "Open my sandbox";
    }
  }

  $("launch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    launch();
  });
  $("leave").addEventListener("click", async () => {
    if (!current) return;
    const { status } = await api("DELETE", `/api/sandboxes/${encodeURIComponent(current.id)}`);
    if (status !== 204) showError(`Could not leave the line (HTTP ${status}). Try again.`);
  });
  $("retry").addEventListener("click", () => {
    $("failed").classList.add("hidden");
    launch();
  });
  refresh().then(() => {
    if (workshop?.mySandbox) follow(workshop.mySandbox);
  });
  // Capacity on the launch card: checked every 10 s, backing off to 2 min while nothing
  // changes (and not at all while the progress view streams over its socket).
  let pollMs = 10000;
  let lastCapacity = "";
  const poll = async () => {
    if ($("progress").classList.contains("hidden")) {
      await refresh();
      const seen = JSON.stringify(workshop?.capacity ?? null);
      pollMs = seen === lastCapacity ? Math.min(120000, pollMs * 2) : 10000;
      lastCapacity = seen;
    }
    setTimeout(poll, pollMs * (0.8 + Math.random() * 0.4));
  };
  setTimeout(poll, pollMs);
})();
