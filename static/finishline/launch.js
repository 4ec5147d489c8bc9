/* Carries the launch session from page to page without putting it in a URL.

   The page's <meta name="finishline-launch"> holds the session secret. htmx (hx-boost on
   <body>) turns links and forms into requests that swap the page in place and keep history;
   this script adds the secret to each of them as the X-Finishline-Launch header, and to the
   body of the few forms htmx does not boost. Download links (<a download>) must be plain
   navigations, so they first ask for a single-use ticket bound to their path. The secret is
   also remembered for this tab (sessionStorage), so a reload of the frame resumes the session
   instead of asking for a new launch. Third-party cookies are not needed for any of this. */
(function () {
  "use strict";
  var HEADER = "X-Finishline-Launch";
  var STORE = "finishline.launch";

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") || "" : "";
  }
  function remembered() {
    try { return window.sessionStorage.getItem(STORE) || ""; } catch (e) { return ""; }
  }
  function remember(value) {
    try { window.sessionStorage.setItem(STORE, value); } catch (e) { /* storage off */ }
  }
  function sameOrigin(url) {
    try { return new URL(url, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  var token = meta("finishline-launch");
  if (token) { remember(token); }

  // The launch's own response serves the landing page: show that page's address.
  var pageUrl = meta("finishline-page-url");
  if (pageUrl && sameOrigin(pageUrl)) { window.history.replaceState(null, "", pageUrl); }

  document.addEventListener("htmx:configRequest", function (event) {
    if (token && sameOrigin(event.detail.path)) { event.detail.headers[HEADER] = token; }
  });
  // Back and forward ask the server for the page again (no page is kept in storage).
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    if (token) { event.detail.xhr.setRequestHeader(HEADER, token); }
  });

  // Forms htmx leaves alone (hx-boost="false") post the secret in their body.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!token || !(form instanceof HTMLFormElement)) { return; }
    if (String(form.method).toLowerCase() !== "post" || !sameOrigin(form.action)) { return; }
    if (!form.closest('[hx-boost="false"]') && window.htmx) { return; }
    var field = form.querySelector('input[name="lt"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "lt";
      form.appendChild(field);
    }
    field.value = token;
  }, true);

  // Downloads: fetch a one-minute, single-use ticket, then navigate to the file with it.
  function download(url, name, origin) {
    var headers = { "Content-Type": "application/json" };
    headers[HEADER] = token;
    window.fetch(meta("finishline-ticket-url"), {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ path: url.pathname }),
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      url.searchParams.set("ticket", data.ticket);
      var go = document.createElement("a");
      go.href = url.toString();
      go.setAttribute("download", name);
      go.setAttribute("data-ticketed", "");
      go.hidden = true;
      document.body.appendChild(go);
      go.click();
      go.remove();
    }).catch(function () {
      origin.setAttribute("aria-invalid", "true");
      origin.title = "This download could not start: open Finishline again from your course.";
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[download]") : null;
    if (!link || link.hasAttribute("data-ticketed") || !token || !sameOrigin(link.href)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    download(new URL(link.href, window.location.href), link.getAttribute("download") || "", link);
  }, true);

  // A GET form that downloads (data-download on the form or on the button pressed).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || null;
    if (!token || !(form instanceof HTMLFormElement)) { return; }
    if (String(form.method).toLowerCase() !== "get") { return; }
    if (!form.hasAttribute("data-download") && !(button && button.hasAttribute("data-download"))) {
      return;
    }
    var url = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    if (url.origin !== window.location.origin || !form.checkValidity()) { return; }
    event.preventDefault();
    event.stopPropagation();
    url.search = new URLSearchParams(new FormData(form, button)).toString();
    download(url, "", button || form);
  }, true);

  // A page opened without its session (the frame was reloaded): resume with this tab's.
  function resume() {
    var marker = document.querySelector("[data-finishline-resume]");
    var saved = remembered();
    if (!marker || token || !saved || !window.htmx) { return; }
    token = saved;
    var headers = {};
    headers[HEADER] = saved;
    window.htmx.ajax("GET", window.location.pathname + window.location.search, {
      target: "body", swap: "innerHTML", headers: headers
    }).then(function () {
      document.body.setAttribute("hx-boost", "true");
      window.htmx.process(document.body);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", resume);
  } else {
    resume();
  }
})();
