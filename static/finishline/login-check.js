/* Inside another site's frame, with no platform storage: before going to the platform (which
   spends its one-time lti_message_hint), check that this frame keeps our cookies. The login
   response set a readable probe cookie named for this login's state; if it is there, the
   state cookie is too and the launch can come back to it. If not, offer a new window, which
   starts this same login again first-party, with the hint still unspent. */
(function () {
  "use strict";
  var check = JSON.parse(document.getElementById("fl-login-check").textContent);
  var probe = "finishline-probe=" + check.state;
  if (document.cookie.split("; ").indexOf(probe) !== -1) {
    window.location.replace(check.auth_url);
    return;
  }
  document.getElementById("fl-checking").hidden = true;
  document.getElementById("fl-blocked").hidden = false;
})();
