// The sandbox page: a countdown bar (Extend, Download, expiry warning) and the link that
// opens the notebook on the sandbox's own origin (through a one-time handover).
(() => {
  const $ = (id) => document.getElementById(id);
  const id = document.body.dataset.id;
  let sandbox = null;
  let warningMs = 10 * 60 * 1000;
  let serverOffset = 0;

  function format(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (h > 0) return `${h}h ${pad(m)}m`;
    if (m > 0) return `${m}m ${pad(s)}s`;
    return `${s}s`;
  }

  let savedChecked = false;

  // The expiry panel sits above the page (it covers nothing: whatever is on the page can
  // still be read and copied) and says what became of the attendee's work.
  function expired(text, gone) {
    $("bar").classList.add("expired");
    $("countdown").textContent = "expired";
    $("expired").classList.remove("hidden");
    if (text) $("expired-text").textContent = text;
    $("extend").disabled = true;
    $("download").classList.add("hidden");
    if (gone && !savedChecked) {
      savedChecked = true;
      showSaved();
    }
  }

  async function showSaved() {
    const res = await fetch("/api/archive", { credentials: "same-origin" });
    if (!res.ok) {
      $("expired-text").textContent =
        "Its time is up and its processes have been stopped. No saved work was found for you.";
      return;
    }
    const info = await res.json();
    $("expired-title").textContent = "Your work was saved";
    $("expired-text").textContent =
      `Your sandbox's time is up. ${info.files} file${info.files === 1 ? " was" : "s were"} saved; they are kept until ${new Date(info.keptUntil).toLocaleString()} and put back into your next sandbox.`;
    $("saved-download").classList.remove("hidden");
    $("relaunch").classList.remove("hidden");
  }

  function tick() {
    if (!sandbox?.expiresAt) return;
    const left = Date.parse(sandbox.expiresAt) - (Date.now() + serverOffset);
    $("countdown").textContent = format(left);
    const warn = left <= warningMs && left > 0;
    $("bar").classList.toggle("warning", warn);
    $("warning").classList.toggle("hidden", !warn);
    if (warn) $("warning").textContent = `Expires in ${format(left)}: download your work`;
    if (left <= 0) expired("Its time is up: saving your work…", false);
  }

  function update(next) {
    sandbox = next;
    if (next.phase === "Expiring")
      expired("Your sandbox is being removed: saving your work…", false);
    if (next.ready && next.notebookUrl) {
      $("open").setAttribute("href", next.notebookUrl);
      $("open").classList.remove("hidden");
      $("open-text").textContent = "Your notebook and its cluster are running.";
    } else if (!next.ready) {
      $("open").classList.add("hidden");
      $("open-text").textContent = next.message || "Starting…";
    }
    if (next.dashboardUrl) $("dashboard").setAttribute("href", next.dashboardUrl);
    tick();
  }

  async function load() {
    const [res, ws] = await Promise.all([
      fetch(`/api/sandboxes/${encodeURIComponent(id)}`, { credentials: "same-origin" }),
      fetch("/api/workshop", { credentials: "same-origin" }),
    ]);
    const date = res.headers.get("date");
    if (date) serverOffset = Date.parse(date) - Date.now();
    if (ws.ok) {
      const w = await ws.json();
      warningMs = w.warningMinutes * 60 * 1000;
    }
    if (res.status === 404) return expired("This sandbox no longer exists.", true);
    update(await res.json());
  }

  function follow() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(
      `${proto}//${location.host}/api/sandboxes/${encodeURIComponent(id)}/events`,
    );
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "sandbox") update(msg.sandbox);
      if (msg.type === "gone") expired("Your sandbox has been removed.", true);
    };
    socket.onclose = (event) => {
      if (event.code !== 1000 && !savedChecked) setTimeout(follow, 2000);
    };
  }

  $("extend").addEventListener("click", async () => {
    $("extend").disabled = true;
    const res = await fetch(`/api/sandboxes/${encodeURIComponent(id)}/extend`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => null);
    $("extend").disabled = false;
    if (res.ok) update(data);
    else {
      $("warning").classList.remove("hidden");
      $("warning").textContent = data?.message ? data.message : "Could not extend.";
      if (data && data.code === "extend-limit") $("extend").disabled = true;
    }
  });
  $("relaunch").addEventListener("click", async () => {
    $("relaunch").disabled = true;
    const res = await fetch("/api/sandboxes", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      credentials: "same-origin",
    });
    // The launch page shows the new sandbox's progress (your saved work is put back into it).
    if (res.ok) window.location.assign("/");
    else {
      const data = await res.json().catch(() => null);
      $("relaunch").disabled = false;
      $("expired-text").textContent =
        data?.message ?? `Could not start a new sandbox (HTTP ${res.status}).`;
    }
  });
  $("download").setAttribute("href", `/api/sandboxes/${encodeURIComponent(id)}/download`);
  load().then(follow);
  setInterval(tick, 1000);
})();
