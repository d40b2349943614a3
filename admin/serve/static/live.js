// shiftctl dashboard: live updates without reloading the page.
// The server says over server-sent events (/live) that something changed; the page then
// fetches its own fresh content (only the part inside <main id="live">) and swaps it in.
// A run page also follows its agent log (/runs/ID/log), added as text, never as markup.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var badge = document.getElementById("connection");
  var state = { updates: 0, renderedAt: Date.now() };
  window.shiftctlLive = state;
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.pathname + location.search,
          { headers: { "X-Shiftctl-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          live.innerHTML = html;  // rendered by the server with every untrusted text escaped
          state.updates += 1;
          state.renderedAt = Date.now();
          tick();
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  // the format of shiftctl.admin.humanize.duration, so a ticking clock reads as the server wrote it
  function dur(s) {
    s = Math.max(0, s);
    if (s < 1) { return s.toFixed(1) + "s"; }
    s = Math.floor(s);
    if (s < 60) { return s + "s"; }
    if (s < 3600) { return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s"; }
    return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  }

  function tick() {
    var since = (Date.now() - state.renderedAt) / 1000;
    var els = document.querySelectorAll(".elapsed[data-age]");
    for (var i = 0; i < els.length; i++) {
      els[i].textContent = dur(parseFloat(els[i].getAttribute("data-age")) + since);
    }
  }

  if (live && window.EventSource) {
    var changes = new EventSource("/live");
    changes.addEventListener("open", function () {
      if (badge) { badge.textContent = "live"; badge.className = "connection on"; }
      refresh();  // whatever happened while we were not listening
    });
    changes.addEventListener("change", refresh);
    changes.addEventListener("error", function () {
      if (badge) { badge.textContent = "reconnecting…"; badge.className = "connection off"; }
    });
    setInterval(tick, 1000);
  }

  var log = document.getElementById("log");
  if (log && log.getAttribute("data-stream") && window.EventSource) {
    var follow = new EventSource(log.getAttribute("data-stream"));
    var add = function (e) {
      var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.appendChild(document.createTextNode(JSON.parse(e.data)));
      if (atEnd) { log.scrollTop = log.scrollHeight; }
    };
    follow.addEventListener("log", add);
    follow.addEventListener("end", function (e) { add(e); follow.close(); });
  }
}());
