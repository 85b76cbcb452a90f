// The eCRM ops dashboard: polls the analytics and ops APIs and redraws its charts.
// The operator's token comes from ?token= (first visit) or the sign-in form, and is kept in
// sessionStorage for this tab only.
(function () {
  "use strict";

  const TOKEN_KEY = "ecrm.ops.token";
  const REFRESH_MS = 3000;
  // Support and commerce figures are counted from two weeks of tickets and orders at each
  // read: every tenth refresh (30 s) is enough for them; everything else every time.
  const SLOW_EVERY = 10;
  const LAG_POINTS = 60;
  const PALETTE = {
    web: "#58a6ff", mobile: "#a371f7", server: "#79c0ff", store: "#3fb950", online: "#56d364",
    email: "#f0883e", api: "#d2a8ff", contacts: "#8b949e", support: "#db61a2",
    campaigns: "#ffa657", sales: "#e3b341", interactions: "#39c5cf", analytics: "#768390",
  };
  const GROUPS = {
    contacts: "#58a6ff", interactions: "#3fb950", support: "#db61a2", campaigns: "#f0883e",
    sales: "#e3b341", analytics: "#a371f7",
  };
  const EXTRA = ["#ff7b72", "#7ee787", "#a5d6ff", "#ffdcd7", "#cae8ff", "#f2cc60"];
  const state = { charts: {}, latest: {}, refreshes: 0, failures: 0, timer: null };
  window.ecrmDashboard = state;

  const $ = (id) => document.getElementById(id);
  const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
  const num = (v) => (v === null || v === undefined ? "–" : fmt.format(v));
  const pct = (v) => (v === null || v === undefined ? "–" : fmt.format(v * 100) + " %");

  function colour(name, index) {
    return PALETTE[name] || EXTRA[index % EXTRA.length];
  }

  function takeTokenFromUrl() {
    const url = new URL(window.location.href);
    const token = url.searchParams.get("token");
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token.trim());
      url.searchParams.delete("token");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  }

  function showLogin(message) {
    clearTimeout(state.timer);
    document.body.dataset.state = "login";
    $("board").hidden = true;
    $("signout").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("token").focus();
  }

  function showBoard() {
    document.body.dataset.state = "board";
    $("login").hidden = true;
    $("board").hidden = false;
    $("signout").hidden = false;
  }

  class AuthError extends Error {}

  async function getJson(path) {
    const token = sessionStorage.getItem(TOKEN_KEY) || "";
    const response = await fetch(path, { headers: { Authorization: "Bearer " + token } });
    if (response.status === 401 || response.status === 403) {
      const body = await response.json().catch(() => ({}));
      throw new AuthError(body.detail || "the token was refused");
    }
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  function baseOptions(extra) {
    const grid = { color: "rgba(138,150,176,0.15)" };
    const ticks = { color: "#8a96b0" };
    return Object.assign({
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { labels: { color: "#c9d1e3", boxWidth: 12 } } },
      scales: { x: { grid, ticks }, y: { grid, ticks, beginAtZero: true } },
    }, extra || {});
  }

  function makeCharts() {
    const stacked = baseOptions();
    stacked.scales.x.stacked = true;
    stacked.scales.y.stacked = true;
    state.charts.throughput = new Chart($("chart-throughput"), {
      type: "bar", data: { labels: [], datasets: [] }, options: stacked,
    });
    const lag = baseOptions();
    lag.elements = { point: { radius: 0 }, line: { tension: 0.25, borderWidth: 2 } };
    lag.scales.y.suggestedMax = 10;
    state.charts.lag = new Chart($("chart-lag"), {
      type: "line", data: { labels: [], datasets: [] }, options: lag,
    });
    const funnel = baseOptions();
    funnel.plugins.legend.display = false;
    state.charts.funnel = new Chart($("chart-funnel"), {
      type: "bar",
      data: {
        labels: ["sent", "delivered", "opened", "clicked", "unsubscribed", "bounced"],
        datasets: [{ label: "messages", data: [], backgroundColor:
          ["#58a6ff", "#79c0ff", "#3fb950", "#56d364", "#d29922", "#f85149"] }],
      },
      options: funnel,
    });
    state.charts.support = new Chart($("chart-support"), {
      type: "bar",
      data: { labels: [], datasets: [
        { label: "opened", data: [], backgroundColor: "#db61a2" },
        { label: "resolved", data: [], backgroundColor: "#3fb950" },
        { label: "SLA breaches", data: [], type: "line", borderColor: "#f85149",
          backgroundColor: "#f85149", pointRadius: 2 },
      ] },
      options: baseOptions(),
    });
  }

  function drawThroughput(t) {
    const chart = state.charts.throughput;
    chart.data.labels = t.series.map((s) => s.minute.slice(11, 16));
    chart.data.datasets = t.channels.map((c, i) => ({
      label: c, data: t.series.map((s) => s.by_channel[c] || 0), backgroundColor: colour(c, i),
    }));
    chart.update("none");
    const last = t.series.slice(-2);
    $("tile-rate").textContent = num(last.length ? Math.max(...last.map((s) => s.total)) : 0);
    $("panel-throughput").dataset.total = t.total;
  }

  function drawOps(ops) {
    const groups = ops.lag.groups;
    drawLag(groups);
    fillRows("lag-partitions", groups.flatMap((g) => g.partitions
      .filter((p) => p.lag > 0).map((p) => [g.group, p.topic + " · " + p.partition, num(p.lag)]))
      .slice(0, 8), "no partition is behind");
    $("tile-lag").textContent = num(ops.lag.total);
    $("tile-backlog").textContent = num(ops.outbox.total_backlog);
    $("tile-dlq").textContent = num(ops.dlq.total);
    const rates = ops.errors.services.map((s) =>
      (s.relay_errors_per_s || 0) + (s.consumer_errors_per_s || 0) + (s.http_5xx_per_s || 0));
    $("tile-errors").textContent = num(rates.reduce((a, b) => a + b, 0));
    drawServices(ops);
    const badge = $("health");
    const down = ops.services.filter((s) => s.status !== "ok").map((s) => s.name);
    badge.dataset.state = ops.healthy ? "ok" : (down.length === ops.services.length ? "down" : "degraded");
    badge.textContent = ops.healthy ? "all services healthy" : "not ok: " + (down.join(", ") || "broker");
  }

  // Lag is a figure of now: the page keeps the last LAG_POINTS samples to show it move.
  function drawLag(groups) {
    const chart = state.charts.lag;
    chart.data.labels.push(new Date().toLocaleTimeString());
    groups.forEach((g, i) => {
      let series = chart.data.datasets.find((d) => d.label === g.group);
      if (!series) {
        series = { label: g.group, data: chart.data.labels.slice(1).map(() => null),
          borderColor: GROUPS[g.group] || colour(g.group, i),
          backgroundColor: GROUPS[g.group] || colour(g.group, i) };
        chart.data.datasets.push(series);
      }
      series.data.push(g.total);
    });
    chart.data.datasets.forEach((d) => {
      if (d.data.length < chart.data.labels.length) d.data.push(null);
    });
    if (chart.data.labels.length > LAG_POINTS) {
      chart.data.labels.shift();
      chart.data.datasets.forEach((d) => d.data.shift());
    }
    chart.update("none");
  }

  function drawServices(ops) {
    const lagOf = Object.fromEntries(ops.lag.groups.map((g) => [g.group, g.total]));
    const outboxOf = Object.fromEntries(ops.outbox.services.map((o) => [o.service, o.backlog]));
    const errorsOf = Object.fromEntries(ops.errors.services.map((e) => [e.service,
      (e.relay_errors_per_s || 0) + (e.consumer_errors_per_s || 0) + (e.http_5xx_per_s || 0)]));
    fillRows("services", ops.services.map((s) => [
      s.name, { text: s.status, cls: s.status === "ok" ? "ok" : "bad" }, s.consumer || "–",
      num(lagOf[s.name]), num(outboxOf[s.name]), num(errorsOf[s.name]),
    ]));
    fillRows("dlq", ops.dlq.topics.filter((t) => t.count > 0).map((t) => [t.topic, num(t.count)]),
      "no dead letters");
    fillRows("queues", ops.queues.services.filter((q) => q.waiting > 0).map((q) => [
      q.service + " · " + q.queue, num(q.waiting), q.oldest_s === null ? "–" : duration(q.oldest_s),
    ]), "no work waiting");
  }

  function drawFunnel(f) {
    const t = f.totals;
    const chart = state.charts.funnel;
    chart.data.datasets[0].data = [t.sent, t.delivered, t.opened, t.clicked, t.unsubscribed, t.bounced];
    chart.update("none");
    $("panel-funnel").dataset.sent = t.sent;
    fillRows("campaigns", f.items.slice(0, 5).map((c) => [
      c.name || c.campaign_id, num(c.sent), pct(c.rates.open), pct(c.rates.click),
      pct(c.rates.unsubscribe), pct(c.rates.bounce),
    ]), "no campaign sent yet");
  }

  function drawSupport(s) {
    const chart = state.charts.support;
    chart.data.labels = s.daily.map((d) => d.day.slice(5));
    chart.data.datasets[0].data = s.daily.map((d) => d.opened);
    chart.data.datasets[1].data = s.daily.map((d) => d.resolved);
    chart.data.datasets[2].data = s.daily.map((d) => d.sla_breaches);
    chart.update("none");
    $("panel-support").dataset.opened = s.tickets_opened;
    const median = s.first_response.median_seconds;
    $("fig-first-response").textContent = median === null ? "–" : duration(median);
    $("fig-breach-rate").textContent = pct(s.sla.breach_rate);
    $("fig-csat").textContent = s.csat.average === null ? "–" :
      s.csat.average.toFixed(2) + " / 5 (" + s.csat.responses + ")";
  }

  function drawCommerce(c) {
    const byCurrency = {};
    c.totals.forEach((t) => { byCurrency[t.currency] = (byCurrency[t.currency] || 0) + t.revenue; });
    const parts = Object.entries(byCurrency).map(([cur, v]) => fmt.format(v) + " " + cur);
    $("tile-revenue").textContent = parts.length ? parts.join(" · ") : "–";
  }

  function duration(seconds) {
    if (seconds < 120) return fmt.format(seconds) + " s";
    if (seconds < 7200) return fmt.format(seconds / 60) + " min";
    return fmt.format(seconds / 3600) + " h";
  }

  function fillRows(tableId, rows, empty) {
    const body = $(tableId).tBodies[0];
    if (!rows.length && empty) rows = [[{ text: empty, cls: "muted", span: 9 }]];
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((cell) => {
        const td = document.createElement("td");
        if (cell && typeof cell === "object") {
          td.textContent = cell.text;
          td.className = cell.cls;
          if (cell.span) td.colSpan = cell.span;
        }
        else td.textContent = cell;
        tr.appendChild(td);
      });
      return tr;
    }));
  }

  async function refresh() {
    try {
      const slow = !state.latest.support || state.refreshes % SLOW_EVERY === 0;
      const again = (path, key) => (slow ? getJson(path) : state.latest[key]);
      const [throughput, ops, funnel, support, commerce] = await Promise.all([
        getJson("/api/v1/analytics/throughput?minutes=30"),
        getJson("/api/v1/ops/overview"),
        getJson("/api/v1/analytics/funnel?limit=5&days=30"),
        again("/api/v1/analytics/support?days=14", "support"),
        again("/api/v1/analytics/commerce?days=14", "commerce"),
      ]);
      if (!sessionStorage.getItem(TOKEN_KEY)) return; // signed out meanwhile
      state.latest = { throughput, ops, funnel, support, commerce };
      showBoard();
      drawThroughput(throughput);
      drawOps(ops);
      drawFunnel(funnel);
      drawSupport(support);
      drawCommerce(commerce);
      state.refreshes += 1;
      state.failures = 0;
      document.body.dataset.refreshes = state.refreshes;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (error) {
      if (error instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(error.message);
        return;
      }
      state.failures += 1;
      $("updated").textContent = "refresh failed (" + error.message + "), retrying";
    }
    state.timer = setTimeout(refresh, REFRESH_MS);
  }

  function start() {
    takeTokenFromUrl();
    makeCharts();
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      refresh();
    });
    $("signout").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("");
    });
    if (sessionStorage.getItem(TOKEN_KEY)) refresh();
    else showLogin("");
  }

  start();
})();
