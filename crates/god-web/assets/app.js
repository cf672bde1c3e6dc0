// Go-Docker web UI: live pages. Every page works without this file; with it, one
// server-sent event stream per tab keeps the page up to date (no polling).
"use strict";

(function () {
  // A stream that resumes after the last change it saw, reopening itself (with the page's
  // current state in its URL) when the connection drops. It starts after the change the page
  // was drawn at (`data-after` of `el`): what changed while the page loaded is not lost.
  function follow(el, url, handlers) {
    var last = el.getAttribute("data-after"), source = null, stopped = false, delay = 1000;
    function open() {
      var u = url();
      if (last !== null) u += (u.indexOf("?") < 0 ? "?" : "&") + "after=" + last;
      source = new EventSource(u);
      // What the stream is doing, on the page's live element: open, reconnecting, ended.
      el.setAttribute("data-stream", "connecting");
      source.onopen = function () { delay = 1000; el.setAttribute("data-stream", "open"); };
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, function (e) {
          if (e.lastEventId) last = e.lastEventId;
          handlers[name](e.data ? safeParse(e.data) : null, e);
        });
      });
      source.addEventListener("end", function (e) {
        stopped = true;
        source.close();
        el.setAttribute("data-stream", "ended");
        notice(e.data || "the live view has ended", true);
      });
      source.addEventListener("reset", function () { location.reload(); });
      source.addEventListener("banner", function (e) {
        if (e.lastEventId) last = e.lastEventId;
        var d = safeParse(e.data), b = document.getElementById("banner");
        if (!b) return;
        b.textContent = (d && d.text) || "";
        b.hidden = !(d && d.text);
      });
      source.onerror = function () {
        source.close();
        if (!stopped) {
          el.setAttribute("data-stream", "reconnecting");
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 30000);
        }
      };
    }
    open();
    // A page left for another may be kept whole by the browser (back/forward cache): its
    // stream would hold one of the six connections a browser opens to a site, and a few pages
    // later the next page waits for one. Closed when left; opened again, resuming after the
    // last change seen, when the page comes back.
    window.addEventListener("pagehide", function () {
      if (source) source.close();
      if (!stopped) el.setAttribute("data-stream", "left");
    });
    window.addEventListener("pageshow", function (e) { if (e.persisted && !stopped) open(); });
    return { stop: function () { stopped = true; if (source) source.close(); } };
  }

  function safeParse(s) { try { return JSON.parse(s); } catch (e) { return s; } }

  // The live view has ended (the session is over: `login` offers to log in again, back here).
  function notice(text, login) {
    var n = document.getElementById("live-notice");
    if (!n) {
      n = document.createElement("p");
      n.id = "live-notice";
      n.className = "banner";
      n.setAttribute("role", "status");
      n.setAttribute("data-testid", "live-ended");
      document.body.insertBefore(n, document.getElementById("main"));
    }
    n.textContent = text + " ";
    if (login) {
      var a = document.createElement("a");
      a.href = "/app/login?next=" + encodeURIComponent(location.pathname + location.search);
      a.textContent = "Log in";
      a.setAttribute("data-testid", "live-login");
      n.appendChild(a);
    }
  }

  // A message about something the page asked for (an action refused, the server away).
  function flash(text) {
    var n = document.getElementById("flash");
    if (!n) {
      n = document.createElement("p");
      n.id = "flash";
      n.className = "banner error";
      n.setAttribute("role", "alert");
      n.setAttribute("data-testid", "flash");
      document.body.insertBefore(n, document.getElementById("main"));
    }
    n.textContent = text;
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  // The job list: rows replaced as their jobs change, new ones added on top.
  function jobList(table) {
    var body = table.tBodies[0], paused = false;
    var box = document.getElementById("live-pause");
    if (box) box.addEventListener("change", function () { paused = box.checked; });
    // A row's buttons ask without leaving the page: the row then follows its job through the
    // stream, and stays in view even when the job leaves the filter (killed, over) until the
    // list is drawn again. Paused, the forms are sent as they are (the page is drawn again).
    body.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (paused || !/^\/app\/jobs\/\d+\/act$/.test(form.getAttribute("action") || "")) return;
      ev.preventDefault();
      var btn = ev.submitter, data = new URLSearchParams(new FormData(form));
      if (btn && btn.name) data.append(btn.name, btn.value);
      if (btn) btn.disabled = true;
      function failed(text) { flash(text); if (btn) btn.disabled = false; }
      fetch(form.getAttribute("action"), {
        method: "POST", body: data, credentials: "same-origin", redirect: "manual",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (r) {
        if (r.status === 204) return;
        if (r.type === "opaqueredirect") {
          // The session is over: to the login page, back here afterwards.
          location.assign("/app/login?next=" + encodeURIComponent(location.pathname + location.search));
          return;
        }
        return r.text().then(function (html) {
          var e = new DOMParser().parseFromString(html, "text/html").querySelector("[data-testid=error]");
          failed(e ? e.textContent : "the request failed (" + r.status + ")");
        });
      }, function () { failed("the server could not be reached: try again"); });
    });
    follow(table, function () { return table.getAttribute("data-live"); }, {
      row: function (d) {
        if (paused || !d || !d.html) return;
        var old = document.getElementById("job-" + d.id);
        var row = fragment(d.html);
        if (!row) return;
        if (old) {
          var box = old.querySelector("input[type=checkbox]");
          var was = box && box.checked;
          old.replaceWith(row);
          var nbox = row.querySelector("input[type=checkbox]");
          if (nbox) nbox.checked = was;
        } else if (d.keeps) {
          body.insertBefore(row, body.firstChild);
          var empty = document.querySelector("[data-testid=no-jobs]");
          if (empty) empty.remove();
        } else {
          return;
        }
        row.classList.add("changed");
      },
      gone: function (d) {
        var old = d && document.getElementById("job-" + d.id);
        if (old && !paused) old.remove();
      }
    });
  }

  // A job's page: its status block, its output growing, its usage.
  function jobPage(section) {
    var logs = Array.prototype.slice.call(document.querySelectorAll("pre.log"));
    var follow_ = document.getElementById("log-follow");
    var wrap = document.getElementById("log-wrap");
    var filter = document.getElementById("log-filter");
    if (wrap) wrap.addEventListener("change", function () {
      logs.forEach(function (p) { p.classList.toggle("wrap", wrap.checked); });
    });
    var full = {};
    logs.forEach(function (p) { full[p.getAttribute("data-file")] = p.textContent; });
    function show(p) {
      var text = full[p.getAttribute("data-file")] || "";
      var q = filter && filter.value;
      p.textContent = q ? text.split("\n").filter(function (l) { return l.indexOf(q) >= 0; }).join("\n") : text;
      if (!follow_ || follow_.checked) p.scrollTop = p.scrollHeight;
    }
    if (filter) filter.addEventListener("input", function () { logs.forEach(show); });
    logs.forEach(function (p) {
      p.addEventListener("scroll", function () {
        // Scrolling up stops following; back at the bottom, it follows again.
        if (!follow_) return;
        var bottom = p.scrollHeight - p.clientHeight - p.scrollTop < 4;
        follow_.checked = bottom;
      });
    });
    function offset(name) {
      var p = document.getElementById("log-" + name);
      return p ? p.getAttribute("data-offset") : "0";
    }
    follow(section, function () {
      return section.getAttribute("data-live") + "&out=" + offset("god.log") + "&err=" + offset("god.err");
    }, {
      job: function (d) {
        var old = document.getElementById("job-status");
        if (old && d && d.html) {
          var fresh = fragment(d.html);
          if (fresh) old.replaceWith(fresh);
        }
        if (d && d.state && d.state !== section.getAttribute("data-state")) {
          var was = section.getAttribute("data-state");
          section.setAttribute("data-state", d.state);
          // Output, files and buttons appear once it runs: draw the page again.
          if (was === "pending") location.reload();
        }
      },
      log: function (d) {
        var p = document.getElementById("log-" + d.file);
        if (!p) return;
        full[d.file] = (full[d.file] || "") + d.text;
        var lines = full[d.file].split("\n");
        if (lines.length > 5000) full[d.file] = lines.slice(-5000).join("\n");
        p.setAttribute("data-offset", d.offset);
        show(p);
      },
      stats: function (d) {
        var cpu = document.getElementById("stats-cpu"), mem = document.getElementById("stats-mem");
        if (cpu) cpu.textContent = d.cpu_seconds.toFixed(1) + " s";
        if (mem) mem.textContent = (d.memory_bytes / 1e6).toFixed(1) + " MB" +
          (d.memory_limit_bytes ? " of " + (d.memory_limit_bytes / 1e6).toFixed(0) + " MB" : "");
      }
    });
  }

  function load(tag, url) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      if (tag === "link") { el.rel = "stylesheet"; el.href = url; } else { el.src = url; }
      el.onload = resolve;
      el.onerror = function () { reject(new Error("cannot load " + url)); };
      document.head.appendChild(el);
    });
  }

  // xterm.js draws its theme and cell sizes with <style> elements it makes: the page's CSP
  // allows those that carry this response's nonce, which they get as they are made (a nonce
  // set once an element is in the page would not count).
  function stampStyles(nonce) {
    if (!nonce || document.__stamped) return;
    document.__stamped = true;
    var make = document.createElement;
    document.createElement = function (tag, options) {
      var el = make.call(document, tag, options);
      if (String(tag).toLowerCase() === "style") el.setAttribute("nonce", nonce);
      return el;
    };
  }

  // A shell in the running job, on click only (a shell is a real process).
  function terminal(button) {
    var box = document.getElementById("terminal");
    var status = document.getElementById("terminal-state");
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "opening…";
      stampStyles(button.getAttribute("data-style-nonce"));
      Promise.all([
        load("link", button.getAttribute("data-css")),
        load("script", button.getAttribute("data-xterm"))
      ]).then(function () {
        return load("script", button.getAttribute("data-fit"));
      }).then(function () {
        box.hidden = false;
        var term = new window.Terminal({ convertEol: false, cursorBlink: true });
        var fit = new window.FitAddon.FitAddon();
        term.loadAddon(fit);
        term.open(box);
        fit.fit();
        var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
          "/app/jobs/" + button.getAttribute("data-job") + "/terminal?csrf=" +
          encodeURIComponent(button.getAttribute("data-csrf")) +
          "&cols=" + term.cols + "&rows=" + term.rows;
        var ws = new WebSocket(url);
        ws.binaryType = "arraybuffer";
        // A shell is not kept for a page the browser keeps after it was left.
        window.addEventListener("pagehide", function () { ws.close(); });
        var encoder = new TextEncoder();
        ws.onopen = function () { status.textContent = "connected"; term.focus(); };
        ws.onmessage = function (e) {
          if (typeof e.data !== "string") term.write(new Uint8Array(e.data));
        };
        ws.onclose = function (e) {
          status.textContent = "closed" + (e.reason ? ": " + e.reason : "");
          button.disabled = false;
        };
        term.onData(function (d) { if (ws.readyState === 1) ws.send(encoder.encode(d)); });
        term.onResize(function (s) {
          if (ws.readyState === 1) ws.send(JSON.stringify({ cols: s.cols, rows: s.rows }));
        });
        window.addEventListener("resize", function () { fit.fit(); });
        window.__terminal = term;
      }).catch(function (e) {
        status.textContent = String(e);
        button.disabled = false;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var open = document.getElementById("terminal-open");
    if (open) terminal(open);
    var table = document.querySelector("table.jobs[data-live]");
    if (table) jobList(table);
    var section = document.querySelector("section.job[data-live]");
    if (section) jobPage(section);
  });
})();
