// Natter's admin console: plain browser JavaScript, no framework. Talks to the JSON API at ./api/ with the
// session cookie the login set, and sends the session's CSRF token with every request that changes
// something. Everything a server sends is put into the page as text (textContent), never as HTML.
"use strict";
(function () {
  var POLL_MS = 5000;
  var PAGE_SIZE = 20;
  var csrfToken = "";
  var hosts = [];
  var pollTimer = 0;
  var usersState = { host: "", search: "", offset: 0, total: 0 };

  function $(id) { return document.getElementById(id); }

  /** h("td", {class: "x"}, "text", node, ...): an element with attributes and children (strings become text). */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === "onclick") el.addEventListener("click", attrs[name]);
      else if (attrs[name] !== undefined && attrs[name] !== false) el.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === undefined || child === null) continue;
      el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return el;
  }

  function fill(tbody, rows, columns, empty) {
    tbody.replaceChildren();
    if (rows.length === 0) {
      tbody.appendChild(h("tr", { class: "empty" }, h("td", { colspan: String(columns) }, empty)));
      return;
    }
    rows.forEach(function (row) { tbody.appendChild(row); });
  }

  // --- talking to the server -------------------------------------------------------------------------

  function request(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
    return fetch(path, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (res) {
      return res.text().then(function (text) {
        var data;
        try { data = text ? JSON.parse(text) : undefined; } catch (e) { data = undefined; }
        if (res.status === 401 && path.indexOf("api/") === 0) {
          showLogin("Your session has ended; please sign in again.");
          throw new Error("not signed in");
        }
        if (!res.ok) {
          // The API answers {error: code, message}; the console's own endpoints {error: message}.
          var message = (data && (data.message || data.error)) || text || res.statusText;
          var err = new Error(message + " (" + res.status + ")");
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  function api(method, path, body) { return request(method, "api" + path, body); }
  function enc(text) { return encodeURIComponent(text); }

  var noticeTimer = 0;
  function notify(text, kind) {
    var n = $("notice");
    n.textContent = text;
    n.className = "notice " + (kind || "ok");
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { n.hidden = true; }, kind === "error" ? 10000 : 4000);
  }
  function failed(err) {
    if (err && err.message !== "not signed in") notify(err.message || String(err), "error");
  }

  /** Asks before a destructive action; resolves with the input's value ("" without input), or rejects when cancelled. */
  function confirmAction(title, text, button, input) {
    var dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-input-label").hidden = !input;
    $("confirm-input").value = "";
    if (input) {
      $("confirm-input-name").textContent = input.label;
      $("confirm-input").type = input.type || "text";
    }
    $("confirm-ok").textContent = button;
    return new Promise(function (resolve, reject) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue === "ok") resolve($("confirm-input").value);
        else reject(new Error("cancelled"));
      });
      dialog.returnValue = "";
      dialog.showModal();
      if (input) $("confirm-input").focus();
    });
  }
  function unlessCancelled(err) { if (err && err.message !== "cancelled") failed(err); }

  // --- login -------------------------------------------------------------------------------------------

  function showLogin(message) {
    clearInterval(pollTimer);
    csrfToken = "";
    $("app").hidden = true;
    $("login").hidden = false;
    var error = $("login-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("login-form").elements.jid.focus();
  }

  function signedIn(session) {
    csrfToken = session.csrfToken;
    $("who").textContent = session.jid;
    $("login").hidden = true;
    $("app").hidden = false;
    // The views need the hosts (user list, announcements, MOTD) before they load.
    api("GET", "/status").then(function (status) {
      hosts = status.hosts || [];
      fillHostSelects();
      showCounters(status);
    }).catch(failed).then(route);
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var button = form.querySelector("button");
    button.disabled = true;
    request("POST", "login", { jid: form.elements.jid.value, password: form.elements.password.value })
      .then(function (session) {
        form.elements.password.value = "";
        signedIn(session);
      })
      .catch(function (err) { showLogin(err.message.replace(/ \(\d+\)$/, "")); })
      .then(function () { button.disabled = false; });
  });

  $("logout").addEventListener("click", function () {
    request("POST", "logout").catch(function () {}).then(function () {
      location.hash = "";
      showLogin("You have signed out.");
    });
  });

  // --- views ------------------------------------------------------------------------------------------

  var views = {
    dashboard: loadDashboard,
    users: loadUsers,
    sessions: loadSessions,
    rooms: loadRooms,
    s2s: loadS2s,
    messages: loadMessages,
  };

  function route() {
    var name = location.hash.replace(/^#/, "") || "dashboard";
    if (!views[name]) name = "dashboard";
    Object.keys(views).forEach(function (v) { $("view-" + v).hidden = v !== name; });
    document.querySelectorAll("#nav a").forEach(function (a) {
      a.classList.toggle("active", a.getAttribute("data-view") === name);
    });
    clearInterval(pollTimer);
    views[name]();
  }
  window.addEventListener("hashchange", function () { if (csrfToken) route(); });

  function fillHostSelects() {
    document.querySelectorAll("#user-host, .host-select").forEach(function (select) {
      var current = select.value;
      select.replaceChildren.apply(select, hosts.map(function (host) { return h("option", { value: host }, host); }));
      if (current && hosts.indexOf(current) !== -1) select.value = current;
    });
  }

  // Dashboard: counters from /status every few seconds, the chart from /stats/history.

  function loadDashboard() {
    // The counters and the chart apart, so that one failing leaves the other live.
    var tick = function () {
      api("GET", "/status").then(showCounters).catch(failed);
      api("GET", "/stats/history").then(function (samples) {
        var last = samples[samples.length - 1];
        $("c-messages").textContent = last ? formatRate(last.messagesPerSecond) : "0";
        drawChart($("chart"), samples);
      }).catch(failed);
    };
    tick();
    pollTimer = setInterval(tick, POLL_MS);
  }

  function showCounters(status) {
    if (!status) return;
    $("c-sessions").textContent = String(status.sessions.total);
    var by = status.sessions.byTransport || {};
    $("c-transports").textContent = Object.keys(by).filter(function (t) { return by[t] > 0; }).map(function (t) { return by[t] + " " + t; }).join(" · ");
    $("c-s2s").textContent = String(status.s2s.inbound + status.s2s.outbound);
    $("c-s2s-detail").textContent = status.s2s.inbound + " in · " + status.s2s.outbound + " out";
    $("c-rooms").textContent = String(status.rooms);
    $("c-occupants").textContent = status.occupants + (status.occupants === 1 ? " occupant" : " occupants");
    $("c-uptime").textContent = formatDuration(status.uptimeSeconds);
    $("c-version").textContent = "Natter " + status.version;
    $("c-memory").textContent = formatBytes(status.memory.rss);
    $("c-heap").textContent = formatBytes(status.memory.heapUsed) + " heap";
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    for (var name in attrs) el.setAttribute(name, String(attrs[name]));
    for (var i = 2; i < arguments.length; i++) el.appendChild(arguments[i]);
    return el;
  }

  /** Sessions (left axis) and messages/s (right axis) over the last hour, as an inline SVG. */
  function drawChart(box, samples) {
    var W = 900, H = 240, L = 48, R = 48, T = 12, B = 28;
    var now = Date.now(), from = now - 3600 * 1000;
    var points = samples.filter(function (s) { return s.at >= from; });
    // Sessions are whole numbers: four whole steps on their axis.
    var maxSessions = 4 * niceMax(Math.max.apply(null, [1].concat(points.map(function (s) { return s.sessions; }))) / 4, true);
    var maxRate = niceMax(Math.max.apply(null, [1].concat(points.map(function (s) { return s.messagesPerSecond; }))));
    var x = function (at) { return L + ((at - from) / 3600000) * (W - L - R); };
    var yS = function (v) { return T + (1 - v / maxSessions) * (H - T - B); };
    var yM = function (v) { return T + (1 - v / maxRate) * (H - T - B); };
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart-svg", role: "img", "aria-label": "Sessions and messages per second over the last hour" });
    for (var i = 0; i <= 4; i++) {
      var y = T + (i / 4) * (H - T - B);
      chart.appendChild(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid-line" }));
      chart.appendChild(text(L - 6, y + 4, formatCount(maxSessions * (1 - i / 4)), "axis sessions", "end"));
      chart.appendChild(text(W - R + 6, y + 4, formatRate(maxRate * (1 - i / 4)), "axis messages", "start"));
    }
    for (var m = 0; m <= 60; m += 15) {
      var at = from + m * 60000;
      chart.appendChild(text(x(at), H - 8, m === 60 ? "now" : "−" + (60 - m) + " min", "axis", "middle"));
    }
    if (points.length === 0) {
      chart.appendChild(text(W / 2, H / 2, "No samples yet: one is taken every minute.", "axis empty-chart", "middle"));
    } else {
      chart.appendChild(series(points, x, yS, function (s) { return s.sessions; }, "line sessions"));
      chart.appendChild(series(points, x, yM, function (s) { return s.messagesPerSecond; }, "line messages"));
    }
    box.replaceChildren(chart);
  }
  function series(points, x, y, value, cls) {
    var d = points.map(function (s) { return x(s.at).toFixed(1) + "," + y(value(s)).toFixed(1); }).join(" ");
    if (points.length === 1) return svg("circle", { cx: x(points[0].at), cy: y(value(points[0])), r: 3, class: cls + " dot" });
    return svg("polyline", { points: d, class: cls });
  }
  function text(x, y, content, cls, anchor) {
    var t = svg("text", { x: x, y: y, class: cls, "text-anchor": anchor });
    t.textContent = content;
    return t;
  }
  /** The smallest "round" number (1, 2, 2.5, 5 × a power of ten; whole numbers only with `whole`) ≥ v. */
  function niceMax(v, whole) {
    if (whole && v <= 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = whole && p === 1 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  $("reload").addEventListener("click", function () {
    confirmAction("Reload configuration?", "The server re-reads its configuration file and applies it. Sessions stay connected.", "Reload")
      .then(function () { return api("POST", "/reload"); })
      .then(function (result) {
        if (result && result.ok === false) throw new Error("reload refused: " + result.error);
        var changes = (result && result.changes) || [];
        $("reload-result").textContent = changes.length ? "Reloaded: " + changes.join("; ") : "Reloaded: nothing changed.";
        notify("Configuration reloaded.");
      })
      .catch(unlessCancelled);
  });

  // Users: search, paging, create, delete, disable, password, roster.

  function loadUsers() {
    if (!usersState.host) usersState.host = $("user-host").value || hosts[0] || "";
    var query = "?host=" + enc(usersState.host) + "&offset=" + usersState.offset + "&limit=" + PAGE_SIZE;
    if (usersState.search) query += "&search=" + enc(usersState.search);
    return api("GET", "/users" + query).then(function (page) {
      usersState.total = page.total;
      fill($("users-body"), page.items.map(userRow), 4, usersState.search ? "No user matches “" + usersState.search + "”." : "No users yet.");
      var first = page.total === 0 ? 0 : page.offset + 1;
      $("users-range").textContent = first + "–" + (page.offset + page.items.length) + " of " + page.total;
      $("users-prev").disabled = page.offset === 0;
      $("users-next").disabled = page.offset + page.items.length >= page.total;
    }).catch(failed);
  }

  function userRow(user) {
    var status = user.disabled ? h("span", { class: "badge off" }, "disabled") : user.sessions > 0 ? h("span", { class: "badge on" }, "online") : h("span", { class: "badge" }, "offline");
    return h("tr", { "data-jid": user.jid },
      h("td", { class: "jid" }, user.jid),
      h("td", null, status),
      h("td", { class: "num" }, user.sessions),
      h("td", { class: "actions" },
        h("button", { type: "button", onclick: function () { showRoster(user.jid); } }, "Roster"),
        user.sessions > 0 ? h("button", { type: "button", onclick: function () { showSessionsOf(user.jid); } }, "Sessions") : null,
        h("button", { type: "button", onclick: function () { setPassword(user.jid); } }, "Password"),
        h("button", { type: "button", onclick: function () { setDisabled(user.jid, !user.disabled); } }, user.disabled ? "Enable" : "Disable"),
        h("button", { type: "button", class: "danger", onclick: function () { deleteUser(user.jid); } }, "Delete")));
  }

  $("user-search").addEventListener("submit", function (event) {
    event.preventDefault();
    usersState.host = $("user-host").value;
    usersState.search = $("user-query").value.trim();
    usersState.offset = 0;
    loadUsers();
  });
  $("users-prev").addEventListener("click", function () { usersState.offset = Math.max(0, usersState.offset - PAGE_SIZE); loadUsers(); });
  $("users-next").addEventListener("click", function () { usersState.offset += PAGE_SIZE; loadUsers(); });

  $("user-create").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var jid = form.elements.jid.value.trim();
    api("POST", "/users", { jid: jid, password: form.elements.password.value }).then(function () {
      form.reset();
      notify("Created " + jid + ".");
      loadUsers();
    }).catch(failed);
  });

  function deleteUser(jid) {
    confirmAction("Delete " + jid + "?", "The account and all its data (roster, archive, rooms it owns) are deleted and its sessions end. This cannot be undone.", "Delete")
      .then(function () { return api("DELETE", "/users/" + enc(jid)); })
      .then(function () { notify("Deleted " + jid + "."); loadUsers(); })
      .catch(unlessCancelled);
  }

  function setDisabled(jid, disabled) {
    var ask = disabled
      ? confirmAction("Disable " + jid + "?", "The account can no longer log in and its sessions end now.", "Disable")
      : Promise.resolve();
    ask.then(function () { return api("PUT", "/users/" + enc(jid) + "/disabled", { disabled: disabled }); })
      .then(function () { notify((disabled ? "Disabled " : "Enabled ") + jid + "."); loadUsers(); })
      .catch(unlessCancelled);
  }

  function setPassword(jid) {
    confirmAction("New password for " + jid, "The user's other sessions keep running; their next login needs the new password.", "Set password", { label: "Password", type: "password" })
      .then(function (password) {
        if (!password) throw new Error("the password is empty");
        return api("PUT", "/users/" + enc(jid) + "/password", { password: password });
      })
      .then(function () { notify("Password of " + jid + " changed."); })
      .catch(unlessCancelled);
  }

  function showRoster(jid) {
    api("GET", "/users/" + enc(jid) + "/roster").then(function (result) {
      var entries = result || [];
      $("roster-title").textContent = "Roster of " + jid;
      fill($("roster-body"), entries.map(function (e) {
        return h("tr", null, h("td", { class: "jid" }, e.jid), h("td", null, e.name || ""), h("td", null, e.subscription + (e.ask ? " (asked)" : "")), h("td", null, (e.groups || []).join(", ")));
      }), 4, "The roster is empty.");
      $("roster").hidden = false;
      $("roster").scrollIntoView({ block: "nearest" });
    }).catch(failed);
  }
  $("roster-close").addEventListener("click", function () { $("roster").hidden = true; });

  // Sessions: list (filter by JID), kick.

  var sessionFilter = "";
  function filterSessions(jid) {
    sessionFilter = jid;
    $("session-filter").elements.jid.value = jid;
    loadSessions();
  }
  /** The sessions view for one JID (the filter set before the view loads, so one request answers). */
  function showSessionsOf(jid) {
    sessionFilter = jid;
    $("session-filter").elements.jid.value = jid;
    if (location.hash === "#sessions") loadSessions();
    else location.hash = "sessions";
  }
  function loadSessions() {
    return api("GET", "/sessions" + (sessionFilter ? "?jid=" + enc(sessionFilter) : "")).then(function (result) {
      var list = result || [];
      fill($("sessions-body"), list.map(sessionRow), 8, sessionFilter ? "No session of " + sessionFilter + "." : "Nobody is connected.");
    }).catch(failed);
  }
  function sessionRow(s) {
    var sm = { off: "off", on: "enabled", detached: "detached (waiting to resume)" }[s.streamManagement] || s.streamManagement;
    return h("tr", { "data-jid": s.jid },
      h("td", { class: "jid" }, s.jid),
      h("td", { class: "mono" }, s.address),
      h("td", null, s.transport + (s.secure ? " · TLS" : " · plain")),
      h("td", null, s.client || "—"),
      h("td", null, (s.available ? "available" : "unavailable") + " · " + s.priority),
      h("td", null, sm),
      h("td", { title: new Date(s.since).toLocaleString() }, formatDuration((Date.now() - s.since) / 1000) + " ago"),
      h("td", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: function () { kick(s.jid); } }, "Kick")));
  }
  function kick(jid) {
    confirmAction("Kick " + jid + "?", "The session's stream ends now. The client may reconnect unless the account is disabled.", "Kick")
      .then(function () { return api("DELETE", "/sessions/" + enc(jid)); })
      .then(function () { notify("Kicked " + jid + "."); loadSessions(); })
      .catch(unlessCancelled);
  }
  $("session-filter").addEventListener("submit", function (event) {
    event.preventDefault();
    filterSessions(event.target.elements.jid.value.trim());
  });

  // Rooms: list, details (occupants, configuration), destroy.

  function loadRooms() {
    return api("GET", "/rooms").then(function (result) {
      var list = result || [];
      fill($("rooms-body"), list.map(roomRow), 5, "No rooms.");
    }).catch(failed);
  }
  function roomRow(r) {
    var kind = [r.persistent ? "persistent" : "temporary", r.public ? "public" : "hidden"];
    if (r.membersOnly) kind.push("members only");
    if (r.passwordProtected) kind.push("password");
    return h("tr", { "data-jid": r.jid },
      h("td", { class: "jid" }, r.jid),
      h("td", null, r.name || ""),
      h("td", { class: "num" }, r.occupants),
      h("td", null, kind.join(" · ")),
      h("td", { class: "actions" },
        h("button", { type: "button", onclick: function () { showRoom(r.jid); } }, "Details"),
        h("button", { type: "button", class: "danger", onclick: function () { destroyRoom(r.jid); } }, "Destroy")));
  }
  function showRoom(jid) {
    api("GET", "/rooms/" + enc(jid)).then(function (room) {
      $("room-title").textContent = (room.name ? room.name + " — " : "") + room.jid;
      $("room-subject").textContent = room.subject ? "Subject: " + room.subject : "No subject.";
      fill($("occupants-body"), (room.occupantList || []).map(function (o) {
        return h("tr", null, h("td", null, o.nick), h("td", null, o.role), h("td", null, o.affiliation), h("td", { class: "jid" }, o.jid));
      }), 4, "Nobody is in the room.");
      var config = room.config || {};
      fill($("room-config-body"), Object.keys(config).sort().map(function (key) {
        var v = config[key];
        return h("tr", null, h("th", null, key.replace(/^muc#roomconfig_/, "")), h("td", null, Array.isArray(v) ? v.join(", ") : String(v)));
      }), 2, "No configuration.");
      $("room-detail").hidden = false;
      $("room-detail").scrollIntoView({ block: "nearest" });
    }).catch(failed);
  }
  function destroyRoom(jid) {
    confirmAction("Destroy " + jid + "?", "Every occupant is removed with the reason below, and the room and its configuration are gone.", "Destroy", { label: "Reason (optional)", type: "text" })
      .then(function (reason) { return api("DELETE", "/rooms/" + enc(jid) + (reason ? "?reason=" + enc(reason) : "")); })
      .then(function () { notify("Destroyed " + jid + "."); $("room-detail").hidden = true; loadRooms(); })
      .catch(unlessCancelled);
  }
  $("rooms-refresh").addEventListener("click", loadRooms);
  $("room-close").addEventListener("click", function () { $("room-detail").hidden = true; });

  // Federation links.

  function loadS2s() {
    return api("GET", "/s2s").then(function (result) {
      var list = result || [];
      fill($("s2s-body"), list.map(function (l) {
        return h("tr", null, h("td", null, l.local), h("td", null, l.remote), h("td", null, l.direction === "in" ? "inbound" : "outbound"),
          h("td", null, h("span", { class: l.ready ? "badge on" : "badge" }, l.ready ? "ready" : "connecting")));
      }), 4, "No federation links.");
    }).catch(failed);
  }
  $("s2s-refresh").addEventListener("click", loadS2s);

  // Announcement, message, MOTD.

  function loadMessages() { loadMotd(); }
  function loadMotd() {
    var form = $("motd-form");
    var host = form.elements.host.value || hosts[0];
    if (!host) return;
    api("GET", "/motd/" + enc(host)).then(function (result) {
      form.elements.body.value = (result && result.body) || "";
    }).catch(function (err) {
      if (err.status === 404) form.elements.body.value = "";
      else failed(err);
    });
  }
  $("motd-form").elements.host.addEventListener("change", loadMotd);
  $("motd-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var host = form.elements.host.value;
    api("PUT", "/motd/" + enc(host), { body: form.elements.body.value }).then(function () { notify("Message of the day for " + host + " saved."); }).catch(failed);
  });
  $("motd-delete").addEventListener("click", function () {
    var form = $("motd-form");
    var host = form.elements.host.value;
    confirmAction("Delete the message of the day?", "Users of " + host + " will no longer get it at login.", "Delete")
      .then(function () { return api("DELETE", "/motd/" + enc(host)); })
      .then(function () { form.elements.body.value = ""; notify("Message of the day for " + host + " deleted."); })
      .catch(unlessCancelled);
  });
  $("announce-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var body = { host: form.elements.host.value, body: form.elements.body.value };
    if (form.elements.subject.value) body.subject = form.elements.subject.value;
    confirmAction("Send this announcement?", "Everyone online on " + body.host + " gets it now.", "Send")
      .then(function () { return api("POST", "/announce", body); })
      .then(function (result) {
        form.reset();
        fillHostSelects();
        var count = result && result.count;
        notify("Announcement sent" + (typeof count === "number" ? " to " + count + " sessions." : "."));
      })
      .catch(unlessCancelled);
  });
  $("message-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var to = form.elements.to.value.trim();
    api("POST", "/messages", { to: to, body: form.elements.body.value }).then(function () {
      form.reset();
      notify("Message sent to " + to + ".");
    }).catch(failed);
  });

  // --- formatting -------------------------------------------------------------------------------------

  function formatDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
  }
  function formatBytes(n) {
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KiB";
    if (n < 1024 * 1024 * 1024) return (n / 1048576).toFixed(1) + " MiB";
    return (n / 1073741824).toFixed(2) + " GiB";
  }
  function formatRate(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, "") || "0"; }
  function formatCount(v) { return v >= 1000 ? (v / 1000).toFixed(1) + "k" : String(Math.round(v)); }

  // --- start: signed in already (cookie), or the login form ------------------------------------------

  request("GET", "session").then(signedIn).catch(function () { showLogin(""); });
})();
