/* 通办寄递 pages: small enhancements. Every page works without them. */
(function () {
  "use strict";

  // A barcode scanner is a keyboard: it types the number and presses Enter (keyboard wedge).
  // A field with data-scan-list collects several numbers: each Enter adds one to the list named
  // and clears the field for the next scan, instead of submitting the form.
  function normalise(value) { return value.replace(/\s+/g, "").toUpperCase(); }

  // A list with an error element (id: the list's id + "-error") takes only the numbers offered as boxes
  // on the page: any other scan is shown there as an error at once and is not added.
  function addToList(input, list) {
    var value = normalise(input.value);
    input.value = "";
    if (!value) return;
    var name = list.getAttribute("data-name") || "tracking_nos";
    var box = document.querySelector('input[type=checkbox][name="' + name + '"][value="' + value + '"]');
    var error = document.getElementById(list.id + "-error");
    if (error) error.hidden = Boolean(box);
    if (error && !box) {
      error.textContent = value + " 不是本机构待发的邮件（或已在其他未交接的清单上），未加入。请核对后重新扫描。";
      return;
    }
    if (box) { box.checked = true; box.dispatchEvent(new Event("change", {bubbles: true})); }
    if (list.querySelector('[data-value="' + value + '"]')) {
      announce(list, value + " 已在列表中");
      return;
    }
    var item = document.createElement("li");
    item.setAttribute("data-value", value);
    item.textContent = value + " ";
    if (!box) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = name; hidden.value = value;
      item.appendChild(hidden);
    }
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.textContent = "移除";
    remove.addEventListener("click", function () {
      if (box) { box.checked = false; box.dispatchEvent(new Event("change", {bubbles: true})); }
      list.removeChild(item);
      announce(list, "已移除 " + value + "，共 " + counted(list, name) + " 件");
      input.focus();
    });
    item.appendChild(remove);
    list.appendChild(item);
    announce(list, "已扫描 " + value + "，共 " + counted(list, name) + " 件");
  }

  // what the form will send: the ticked boxes and the scanned numbers without a box
  function counted(list, name) {
    var form = list.closest("form") || document;
    return form.querySelectorAll('input[name="' + name + '"]:checked, input[type=hidden][name="' + name + '"]').length;
  }

  function announce(list, text) {
    var live = document.getElementById(list.id + "-status");
    if (live) live.textContent = text;
  }

  // The contents check: a scan of a material's barcode (its code) marks that item 正常; the count of
  // confirmed items follows every change.
  function countChecked(form) {
    var rows = form.querySelectorAll("tr[data-item]");
    var done = 0;
    rows.forEach(function (row) {
      var ticked = row.querySelector("input[type=radio]:checked");
      row.classList.toggle("row--unchecked", !ticked);
      if (ticked) done += 1;
    });
    var count = form.querySelector("#checked-count strong");
    if (count) count.textContent = String(done);
  }

  function tick(input) {
    var form = input.form;
    var value = input.value.trim().toLowerCase();
    var error = document.getElementById("item-error");
    input.value = "";
    if (!value) return;
    var row = Array.prototype.find.call(form.querySelectorAll("tr[data-item]"), function (r) {
      return r.getAttribute("data-item").toLowerCase() === value || r.getAttribute("data-name").toLowerCase() === value;
    });
    if (!row) {
      error.textContent = "“" + value + "”不是本邮件的内件，请核对后重新扫描。";
      error.hidden = false;
      return;
    }
    error.hidden = true;
    row.querySelector('input[type=radio][value="ok"]').checked = true;
    countChecked(form);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-checklist")) countChecked(form);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key === "Enter" && input.hasAttribute && input.hasAttribute("data-tick")) {
      event.preventDefault();
      tick(input);
      return;
    }
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
