/* LTI Client Side postMessages with LTI postMessage Storage (lti.put_data / lti.get_data),
   used when the login offered lti_storage_target: the state then lives in the platform's
   storage instead of a third-party cookie the browser may block.

   Per the specs: messages go to the frame named by lti_storage_target ("_parent" is the
   window embedding us, or our opener in a new window; any other name is a sibling frame of
   that window, e.g. Canvas's "post_message_forwarding"), with the targetOrigin set to the
   origin of the platform's OIDC authorization URL, never the wildcard. Each request carries a unique
   message_id; a response is accepted only from that origin with the same message_id and the
   subject "<request subject>.response", and it carries either value or error {code, message}.
   Keys are "state_<state>" and "nonce_<nonce>", each holding its own value. */
var FinishlineStorage = (function () {
  "use strict";
  function read(id) { return JSON.parse(document.getElementById(id).textContent); }

  // How long to wait for the platform's answer before offering a new window (settings).
  function timeoutMs() {
    var el = document.getElementById("fl-timeout");
    return el ? Number(JSON.parse(el.textContent)) || 4000 : 4000;
  }

  function originOf(url) {
    try { return new URL(url).origin; } catch (e) { return null; }
  }

  function messageId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function targetWindow(frameName) {
    var parent = window.opener || window.parent;
    if (!parent || parent === window) { return null; }
    if (!frameName || frameName === "_parent") { return parent; }
    try { return parent.frames[frameName] || null; } catch (e) { return null; }
  }

  function send(subject, fields) {
    return new Promise(function (resolve, reject) {
      var platformOrigin = originOf(read("fl-origin"));
      var target = targetWindow(read("fl-target"));
      if (!platformOrigin || !target) { reject("no_platform_storage"); return; }
      var id = messageId();
      var timer = null;
      function onMessage(event) {
        var data = event.data;
        if (event.origin !== platformOrigin || typeof data !== "object" || data === null) { return; }
        if (data.subject !== subject + ".response" || data.message_id !== id) { return; }
        window.removeEventListener("message", onMessage);
        clearTimeout(timer);
        if (data.error) { reject(data.error.code || "error"); } else { resolve(data); }
      }
      window.addEventListener("message", onMessage);
      timer = setTimeout(function () {
        window.removeEventListener("message", onMessage);
        reject("timeout");
      }, timeoutMs());
      var message = { subject: subject, message_id: id };
      for (var key in fields) { message[key] = fields[key]; }
      target.postMessage(message, platformOrigin);
    });
  }

  function say(text) { document.getElementById("status").textContent = text; }

  return {
    /* Login: store state and nonce with the platform, then go to its authorization URL. */
    putThenGo: function () {
      var state = read("fl-state");
      var nonce = read("fl-nonce");
      function go() { window.location.assign(read("fl-auth-url")); }
      Promise.all([
        send("lti.put_data", { key: "state_" + state, value: state }),
        send("lti.put_data", { key: "nonce_" + nonce, value: nonce })
      ]).then(go, go);  // the state cookie may still come back; the launch decides
    },
    /* Launch without the cookie: the state must be in this browser's platform storage. */
    checkThenRelaunch: function () {
      var state = read("fl-state");
      send("lti.get_data", { key: "state_" + state }).then(function (data) {
        if (data.value === state) {
          document.getElementById("fl-relaunch").submit();
        } else {
          say("This launch did not start in this browser. Launch Finishline again from your course.");
        }
      }, function () {
        say("Your browser blocked Finishline inside the course frame. " +
            "Open it again from your course in a new window.");
      });
    }
  };
})();

/* The page names the step to run on its script tag (data-run): no inline script needed. */
(function (script) {
  "use strict";
  var step = script ? script.getAttribute("data-run") : null;
  if (step === "putThenGo" || step === "checkThenRelaunch") { FinishlineStorage[step](); }
})(document.currentScript);
