// Live preview of the certificate template: re-render shortly after each edit.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script.getAttribute("data-url");
  var form = document.getElementById("settings-form");
  var frame = document.getElementById("preview");
  if (!form || !frame) { return; }
  var timer = null;
  function refresh() {
    var data = new FormData(form);
    data.delete("logo");
    var launch = document.querySelector('meta[name="finishline-launch"]');
    var headers = launch ? { "X-Finishline-Launch": launch.getAttribute("content") } : {};
    fetch(url, { method: "POST", body: data, headers: headers, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) { frame.srcdoc = html; })
      .catch(function () { frame.srcdoc = "<p>The preview could not be loaded.</p>"; });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  });
  refresh();
})();
