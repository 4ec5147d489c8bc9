/* LTI Dynamic Registration: tell the platform (our opener or parent frame) we are done. */
(function () {
  "use strict";
  function close() {
    (window.opener || window.parent).postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  }
  document.getElementById("fl-close").addEventListener("click", close);
  close();
})();
