/* A first look at the check characters as the clerk leaves the field; the server decides. */
(function () {
  "use strict";
  var ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], ID_C = "10X98765432";
  var CC_A = "0123456789ABCDEFGHJKLMNPQRTUWXY", CC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  function residentId(v) {
    if (!/^[0-9]{17}[0-9X]$/.test(v)) return false;
    var s = 0;
    for (var i = 0; i < 17; i++) s += Number(v.charAt(i)) * ID_W[i];
    return ID_C.charAt(s % 11) === v.charAt(17);
  }
  function creditCode(v) {
    if (v.length !== 18) return false;
    var s = 0;
    for (var i = 0; i < 17; i++) {
      var k = CC_A.indexOf(v.charAt(i));
      if (k < 0) return false;
      s += k * CC_W[i];
    }
    return CC_A.charAt((31 - s % 31) % 31) === v.charAt(17);
  }
  var MESSAGES = {"resident-id": "身份证号码校验位不符，请核对（18位，含末位校验码）。",
                  "credit-code": "统一社会信用代码校验位不符，请核对（18位，含末位校验码）。"};
  document.querySelectorAll("input[data-check]").forEach(function (input) {
    var note = document.createElement("p");
    note.className = "field-error";
    note.setAttribute("aria-live", "polite");
    note.hidden = true;
    input.parentNode.insertBefore(note, input);
    input.addEventListener("blur", function () {
      var value = input.value.replace(/\s+/g, "").toUpperCase();
      var kind = input.getAttribute("data-check");
      var ok = !value || (kind === "credit-code" ? creditCode(value) : residentId(value));
      note.textContent = ok ? "" : MESSAGES[kind];
      note.hidden = ok;
    });
  });
})();
