// The organiser's page: capacity, launch-time histogram, every sandbox, bulk actions.
(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, className) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  };
  const dur = (s) =>
    s === null || s === undefined
      ? "–"
      : s >= 3600
        ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
        : s >= 60
          ? `${Math.floor(s / 60)}m ${s % 60}s`
          : `${s}s`;
  const ms = (v) => (v === null ? "–" : `${(v / 1000).toFixed(1)}s`);

  async function call(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      $("admin-error").textContent = data?.message || `HTTP ${res.status}`;
      $("admin-error").classList.remove("hidden");
    } else {
      $("admin-error").classList.add("hidden");
    }
    return { ok: res.ok, data };
  }

  function renderOverview(o) {
    $("used").textContent = o.capacity.used;
    $("left").textContent = o.capacity.left;
    $("max").textContent = o.capacity.max;
    $("queued").textContent = o.capacity.queued;
    $("warm").textContent = o.capacity.warm;
    $("warm-ready").textContent = o.capacity.warmReady;
    $("p50").textContent = ms(o.launches.p50Ms);
    $("p95").textContent = ms(o.launches.p95Ms);
    const max = Math.max(1, ...o.launches.histogram.map((b) => b.count));
    $("histogram").replaceChildren(
      ...o.launches.histogram.map((b) => {
        const bar = el("div");
        bar.style.height = `${(b.count / max) * 100}%`;
        bar.title = `${b.label}: ${b.count}`;
        return bar;
      }),
    );
    $("histogram-labels").replaceChildren(
      ...o.launches.histogram.map((b) => el("span", `${b.label} (${b.count})`)),
    );
    const entries = Object.entries({ backend: o.backend, ...o.settings });
    $("settings").replaceChildren(
      ...entries.flatMap(([k, v]) => [el("dt", k), el("dd", String(v))]),
    );
  }

  function renderRows(list) {
    $("rows").replaceChildren(
      ...list.map((s) => {
        const tr = el("tr");
        tr.dataset.id = s.id;
        tr.append(
          el("td", s.id),
          el("td", s.warm ? "(warm pool)" : s.owner.slice(0, 8)),
          el("td", s.phase, `phase-${s.phase}`),
          el("td", s.headline),
          el("td", dur(s.ageSeconds)),
          el("td", dur(s.secondsLeft)),
          el("td", dur(s.readySeconds)),
        );
        const actions = el("td");
        const extend = el("button", "Extend", "secondary");
        extend.addEventListener("click", () =>
          call("POST", `/api/admin/sandboxes/${s.id}/extend`, {}).then(refresh),
        );
        const expire = el("button", "Expire", "danger");
        expire.addEventListener("click", () =>
          call("DELETE", `/api/admin/sandboxes/${s.id}`).then(refresh),
        );
        actions.append(extend, " ", expire);
        if (!s.warm && s.phase === "Ready") {
          // Opens the attendee's notebook on its own origin with an attendee-scoped
          // credential: the organiser's rights never reach the sandbox.
          const open = el("a", "Open notebook", "button secondary");
          open.setAttribute("href", `/s/${encodeURIComponent(s.id)}/open/notebook`);
          open.setAttribute("target", "_blank");
          open.setAttribute("rel", "noopener");
          actions.append(" ", open);
        }
        tr.append(actions);
        return tr;
      }),
    );
  }

  async function refresh() {
    const [o, l] = await Promise.all([
      call("GET", "/api/admin/overview"),
      call("GET", "/api/admin/sandboxes"),
    ]);
    if (o.ok) renderOverview(o.data);
    if (l.ok) renderRows(l.data.sandboxes);
  }

  $("start").addEventListener("click", () =>
    call("POST", "/api/admin/sandboxes", { count: Number($("start-count").value) }).then(refresh),
  );
  $("extend-all").addEventListener("click", () =>
    call("POST", "/api/admin/extend-all", {}).then(refresh),
  );
  $("expire-all").addEventListener("click", () => {
    if (confirm("Expire every sandbox now? Attendees lose unsaved work.")) {
      call("POST", "/api/admin/expire-all", { confirm: true }).then(refresh);
    }
  });
  refresh();
  setInterval(refresh, 3000);
})();
