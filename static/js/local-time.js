// Shows every <time data-local> in the viewer's own time zone and language; the server's UTC text
// stays as the fallback and in the title, so nothing depends on this script.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {day: "numeric", month: "short", year: "numeric",
                                                   hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
  document.querySelectorAll("time[data-local]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (!isNaN(moment)) {
      node.title = node.textContent;
      node.textContent = format.format(moment);
    }
  });
}());
