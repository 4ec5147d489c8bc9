/* LTI Client Side postMessage storage (lti.put_data / lti.get_data), used when the browser
   blocks third-party cookies and the platform offers storage (lti_storage_target). */
var FinishlineStorage = (function () {
  function read(id) { return JSON.parse(document.getElementById(id).textContent); }
  function origin(url) { try { return new URL(url).origin; } catch (e) { return "*"; } }
  function targetFrame(name) {
    var parent = window.opener || window.parent;
    try { if (name && name !== "_parent" && parent.frames[name]) { return parent.frames[name]; } } catch (e) {}
    return parent;
  }
  function send(subject, payload) {
    return new Promise(function (resolve, reject) {
      var messageId = Math.random().toString(36).slice(2);
      var platformOrigin = origin(read("fl-origin"));
      function onMessage(event) {
        var data = event.data || {};
        if (data.message_id !== messageId || data.subject !== subject + ".response") { return; }
        if (platformOrigin !== "*" && event.origin !== platformOrigin) { return; }
        window.removeEventListener("message", onMessage);
        if (data.error) { reject(data.error); } else { resolve(data); }
      }
      window.addEventListener("message", onMessage);
      payload.subject = subject;
      payload.message_id = messageId;
      targetFrame(read("fl-target")).postMessage(payload, platformOrigin);
      setTimeout(function () { reject("timeout"); }, 4000);
    });
  }
  function fail() {
    document.getElementById("status").textContent =
      "Your browser blocked Finishline inside the course frame. Open it again in a new window.";
  }
  return {
    putThenGo: function () {
      var state = read("fl-state");
      Promise.all([
        send("lti.put_data", { key: "state_" + state, value: state }),
        send("lti.put_data", { key: "nonce_" + read("fl-nonce"), value: read("fl-nonce") })
      ]).then(function () { window.location = read("fl-auth-url"); }, function () {
        window.location = read("fl-auth-url");  // the state cookie may still work
      });
    },
    checkThenRelaunch: function () {
      var state = read("fl-state");
      send("lti.get_data", { key: "state_" + state }).then(function (data) {
        if (data.value === state) { document.getElementById("fl-relaunch").submit(); } else { fail(); }
      }, fail);
    }
  };
})();
