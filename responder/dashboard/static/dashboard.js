// The segment count under the reply box, from the server's own counter (/dashboard/segments).
"use strict";
document.querySelectorAll("textarea[data-segments-url]").forEach(function (box) {
  var out = document.getElementById(box.dataset.segmentsOut);
  var timer = null;
  var asked = 0;
  function show() {
    var ask = ++asked;
    if (!box.value) { out.textContent = ""; return; }
    var url = box.dataset.segmentsUrl + "?text=" + encodeURIComponent(box.value);
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (c) {
        if (ask !== asked) return;
        if (c.error) { out.textContent = c.error; return; }
        var text = c.characters + " characters · " + c.encoding + " · " + c.segments +
          " segment" + (c.segments === 1 ? "" : "s");
        if (c.messages > 1) text += " in " + c.messages + " messages";
        out.textContent = text;
      })
      .catch(function () { out.textContent = ""; });
  }
  if (box.form) box.form.addEventListener("submit", function () { clearTimeout(timer); asked++; });
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(show, 120);
  });
  show();
});
