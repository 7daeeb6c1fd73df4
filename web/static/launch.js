// The launch page: capacity, Launch, and the live progress view over WebSocket.
(() => {
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let slowTimer = null;
  let workshop = null;

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
    const full = cap.left === 0 && !workshop?.mySandbox;
    $("full").classList.toggle("hidden", !full);
    $("launch").disabled = full;
  }

  function render(sb) {
    $("launch-card").classList.add("hidden");
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
    clearTimeout(slowTimer);
    const starting = !sb.ready && !sb.failed;
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
      const msg = JSON.parse(event.data);
      if (msg.type === "sandbox") render(msg.sandbox);
      if (msg.type === "gone") {
        $("progress").classList.add("hidden");
        $("launch-card").classList.remove("hidden");
        showError("Your sandbox is gone (it expired or was removed). Launch a new one.");
        if (workshop) workshop.mySandbox = null;
        refresh();
      }
    };
    socket.onclose = (event) => {
      if (event.code !== 1000 && !event.wasClean) setTimeout(() => follow(id), 1000);
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
    if (data && data.code === "workshop-full") {
      $("full").classList.remove("hidden");
      $("launch").disabled = true;
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
  $("retry").addEventListener("click", () => {
    $("failed").classList.add("hidden");
    launch();
  });
  refresh().then(() => {
    if (workshop?.mySandbox) follow(workshop.mySandbox);
  });
  setInterval(() => {
    if ($("progress").classList.contains("hidden")) refresh();
  }, 10000);
})();
