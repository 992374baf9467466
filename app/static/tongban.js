/* 通办寄递 pages: small enhancements. Every page works without them. */
(function () {
  "use strict";

  // A barcode scanner is a keyboard: it types the number and presses Enter (keyboard wedge).
  // A field with data-scan-list collects several numbers: each Enter adds one to the list named
  // and clears the field for the next scan, instead of submitting the form.
  function normalise(value) { return value.replace(/\s+/g, "").toUpperCase(); }

  function addToList(input, list) {
    var value = normalise(input.value);
    input.value = "";
    if (!value) return;
    var name = list.getAttribute("data-name") || "tracking_nos";
    var box = document.querySelector('input[type=checkbox][name="' + name + '"][value="' + value + '"]');
    if (box) { box.checked = true; box.dispatchEvent(new Event("change", {bubbles: true})); }
    if (list.querySelector('[data-value="' + value + '"]')) {
      announce(list, value + " 已在列表中");
      return;
    }
    var item = document.createElement("li");
    item.setAttribute("data-value", value);
    item.textContent = value;
    if (!box) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = name; hidden.value = value;
      item.appendChild(hidden);
    }
    list.appendChild(item);
    announce(list, "已扫描 " + value + "，共 " + list.children.length + " 件");
  }

  function announce(list, text) {
    var live = document.getElementById(list.id + "-status");
    if (live) live.textContent = text;
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.hasAttribute || !input.hasAttribute("data-scan")) return;
    input.value = normalise(input.value);
    var listId = input.getAttribute("data-scan-list");
    if (listId) {
      event.preventDefault();
      addToList(input, document.getElementById(listId));
    }
  });

  // One click, one submission: a second press while the first is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
    form.setAttribute("data-submitted", "1");
    setTimeout(function () { form.removeAttribute("data-submitted"); }, 4000);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    // "back" on an error page: only where there is a page to go back to (a link home is always there)
    document.querySelectorAll("[data-back]").forEach(function (button) {
      if (window.history.length < 2) return;
      button.hidden = false;
      button.addEventListener("click", function () { window.history.back(); });
    });
    // print buttons for embedded documents
    document.querySelectorAll("[data-print-frame]").forEach(function (button) {
      button.addEventListener("click", function () {
        var frame = document.getElementById(button.getAttribute("data-print-frame"));
        try { frame.contentWindow.focus(); frame.contentWindow.print(); }
        catch (e) { window.open(frame.src, "_blank"); }
      });
    });
  });
})();
