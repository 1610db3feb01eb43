// Keyboard shortcuts: a/r/s decide a candidate, j/k move through the queue, Enter opens.
(function () {
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }
  document.addEventListener("keydown", function (e) {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    var form = document.querySelector("form[data-keys=candidate]");
    if (form) {
      var button = form.querySelector("button[data-key='" + e.key + "']");
      if (button) { e.preventDefault(); button.click(); return; }
    }
    var rows = Array.prototype.slice.call(document.querySelectorAll("table[data-keys=queue] tbody tr"));
    if (!rows.length) return;
    var current = rows.findIndex(function (r) { return r.classList.contains("selected"); });
    if (e.key === "j" || e.key === "k") {
      e.preventDefault();
      var next = e.key === "j" ? Math.min(rows.length - 1, current + 1) : Math.max(0, current - 1);
      rows.forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
      rows[next].classList.add("selected");
      rows[next].setAttribute("aria-selected", "true");
      rows[next].querySelector("a").focus();
    } else if (e.key === "Enter" && current >= 0) {
      window.location = rows[current].getAttribute("data-href");
    }
  });
})();
