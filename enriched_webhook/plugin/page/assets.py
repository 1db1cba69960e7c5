"""The page's CSS and JavaScript, inline, and the Content-Security-Policy that admits them.

They are inlined rather than served from routes of their own: one response is the whole
page (no second request through Canvas's proxy), and the policy can name these exact bytes
by their SHA-256 instead of allowing every script of Canvas's origin (`'self'` would also
admit other plugins' routes, which share the origin). No CDN, no font, no image: the
policy's `default-src 'none'` refuses anything else, inline `style=`/`on...=` attributes
included, so the markup never uses them. The sandbox cannot read files: these are strings.
"""

# ruff: noqa: E501 (CSS rules are kept one per line, however long)
from __future__ import annotations

from base64 import b64encode
from hashlib import sha256

CSS = r"""
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0b5cad;
--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff8c5;--bad:#cf222e;--bad-bg:#ffebe9;
--idle:#57606a;--idle-bg:#eaeef2;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink)}
*{box-sizing:border-box}
body{margin:0;background:#fff}
main{max-width:1360px;margin:0 auto;padding:16px 20px 40px}
.table-wrap{overflow-x:auto}
header.top{display:flex;align-items:center;gap:12px;flex-wrap:wrap;border-bottom:1px solid var(--line);padding-bottom:12px}
header.top h1{font-size:20px;margin:0;flex:1 1 auto}
h2{font-size:15px;margin:24px 0 8px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.muted{color:var(--muted)}
button,.button{font:inherit;border:1px solid var(--line);background:var(--soft);color:var(--ink);border-radius:6px;padding:5px 12px;cursor:pointer;display:inline-block}
button:hover,.button:hover{background:#eef1f4;text-decoration:none}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.primary:hover{background:#094c8f}
button.danger{color:var(--bad)}
button.small{padding:2px 8px;font-size:12.5px}
button:disabled{opacity:.5;cursor:default}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-top:14px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin-top:2px}
.card .value.small{font-size:15px;font-weight:500;margin-top:6px}
.card.ok .value{color:var(--ok)}
.card.warn .value{color:var(--warn)}
.card.bad .value{color:var(--bad)}
.chart-box{border:1px solid var(--line);border-radius:8px;padding:10px 12px 6px}
svg.chart{width:100%;height:auto;display:block}
svg.chart .grid{stroke:#e6eaef;stroke-width:1}
svg.chart .day{stroke:#d1d9e0;stroke-width:1;stroke-dasharray:2 3}
svg.chart .axis{fill:var(--muted);font-size:10px}
svg.chart .bar-delivered{fill:#2da44e}
svg.chart .bar-retried{fill:#d4a72c}
svg.chart .bar-failed{fill:#cf222e}
svg.chart .hour:hover rect{opacity:.75}
.legend{display:flex;gap:16px;font-size:12.5px;color:var(--muted);margin:4px 0 0}
.legend span::before{content:"";display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend .delivered::before{background:#2da44e}
.legend .retried::before{background:#d4a72c}
.legend .failed::before{background:#cf222e}
form.filters{display:flex;gap:8px;align-items:end;flex-wrap:wrap;margin:8px 0 10px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:2px}
input,select{font:inherit;border:1px solid var(--line);border-radius:6px;padding:4px 8px;background:#fff;color:var(--ink)}
input[name=task_id]{width:300px}
.spacer{flex:1 1 auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 7px;border-bottom:1px solid var(--line);vertical-align:middle;white-space:nowrap}
th{font-size:12px;color:var(--muted);font-weight:600;background:var(--soft)}
td.num,th.num{text-align:right}
tbody tr:hover{background:#f8fafc}
td.wrap{white-space:normal;word-break:break-all}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600}
.badge.delivered{color:var(--ok);background:var(--ok-bg)}
.badge.retrying{color:var(--warn);background:var(--warn-bg)}
.badge.failed{color:var(--bad);background:var(--bad-bg)}
.badge.queued,.badge.reading,.badge.unknown{color:var(--idle);background:var(--idle-bg)}
.pill{border-radius:999px;padding:3px 10px;font-size:12.5px;font-weight:600;color:var(--idle);background:var(--idle-bg)}
.pill.closed{color:var(--ok);background:var(--ok-bg)}
.pill.open{color:var(--bad);background:var(--bad-bg)}
.pager{display:flex;gap:10px;align-items:center;justify-content:flex-end;margin-top:10px}
.empty{padding:18px;text-align:center;color:var(--muted);border:1px dashed var(--line);border-radius:8px}
.notice{margin:12px 0 0;padding:9px 12px;border-radius:6px;border:1px solid #9ec5fe;background:#ddf4ff}
.notice.error{border-color:#ffcecb;background:var(--bad-bg)}
[hidden]{display:none !important}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:10px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
dialog{border:1px solid var(--line);border-radius:10px;padding:18px 20px;max-width:440px;box-shadow:0 8px 30px rgba(0,0,0,.18)}
dialog::backdrop{background:rgba(31,35,40,.35)}
dialog h3{margin:0 0 8px;font-size:16px}
dialog .buttons{display:flex;justify-content:flex-end;gap:8px;margin-top:16px}
dialog label{display:block;margin-top:10px}
footer{margin-top:28px;color:var(--muted);font-size:12px}
"""

JS = r"""
"use strict";
(function () {
  var body = document.body;
  var root = body.getAttribute("data-root") || "./";
  var tokenTag = document.querySelector('meta[name="csrf-token"]');
  var token = tokenTag ? tokenTag.getAttribute("content") : "";
  var notice = document.getElementById("notice");
  var dialog = document.getElementById("confirm");
  var pending = null;

  function show(message, isError) {
    notice.textContent = message;
    notice.className = isError ? "notice error" : "notice";
    notice.hidden = false;
  }

  // The notice survives the reload in sessionStorage; a frame without storage (a sandboxed
  // iframe) shows it without reloading instead.
  function remember(message) {
    try {
      window.sessionStorage.setItem("deliveries-notice", message);
      return true;
    } catch (ignored) {
      return false;
    }
  }

  try {
    var kept = window.sessionStorage.getItem("deliveries-notice");
    if (kept !== null) {
      window.sessionStorage.removeItem("deliveries-notice");
      show(kept, false);
    }
  } catch (ignored) {
    kept = null;
  }

  function post(action, payload) {
    return window.fetch(root + "actions/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = {};
        try { data = JSON.parse(text); } catch (ignored) { data = {}; }
        if (!response.ok) {
          throw new Error(data.error || ("The action was refused (HTTP " + response.status + ")."));
        }
        return data;
      });
    });
  }

  function enable(on) {
    document.querySelectorAll("button[data-action]").forEach(function (b) { b.disabled = !on; });
  }

  function run(button) {
    var action = button.getAttribute("data-action");
    var payload = {};
    if (button.hasAttribute("data-webhook-id")) {
      payload.webhook_id = button.getAttribute("data-webhook-id");
    }
    if (button.hasAttribute("data-webhook-ids")) {
      payload.webhook_ids = button.getAttribute("data-webhook-ids").split(" ").filter(Boolean);
    }
    if (action === "backfill") {
      var since = document.getElementById("backfill-since").value;
      if (!since) {
        show("Choose the date to backfill from.", true);
        return;
      }
      payload.since = since;
    }
    enable(false);
    post(action, payload).then(function (data) {
      var message = String(data.message || "Done.");
      if (remember(message)) {
        window.location.reload();
      } else {
        show(message + " Reload the page to see it.", false);
      }
    }, function (error) {
      enable(true);
      show(error.message || "The action failed.", true);
    });
  }

  document.querySelectorAll("button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      pending = button;
      document.getElementById("confirm-title").textContent = button.getAttribute("data-title");
      document.getElementById("confirm-text").textContent = button.getAttribute("data-confirm");
      var isBackfill = button.getAttribute("data-action") === "backfill";
      document.getElementById("backfill-field").hidden = !isBackfill;
      dialog.showModal();
    });
  });

  document.getElementById("confirm-cancel").addEventListener("click", function () {
    pending = null;
    dialog.close();
  });
  document.getElementById("confirm-ok").addEventListener("click", function () {
    var button = pending;
    pending = null;
    dialog.close();
    if (button) { run(button); }
  });
})();
"""


def source_hash(source: str) -> str:
    """A CSP hash-source for one inline element's exact text."""
    return "'sha256-" + b64encode(sha256(source.encode("utf-8")).digest()).decode() + "'"


# fetch() posts the actions back to the plugin's own routes, on Canvas's origin ('self').
# frame-ancestors 'self': only Canvas itself may frame the page (its app drawer modal).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src " + source_hash(JS),
        "style-src " + source_hash(CSS),
        "img-src data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
    ]
)

# Every page response carries these; none is cached, since every page holds live state
# and the staff member's CSRF token.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
