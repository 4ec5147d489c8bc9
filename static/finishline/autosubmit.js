/* Submit the page's form marked data-autosubmit at once (an LTI form post to pass on). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { HTMLFormElement.prototype.submit.call(form); }
})();
