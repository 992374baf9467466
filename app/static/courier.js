/* 通办寄递: the courier's scanner on a phone (/courier).
 *
 * Every scan gets its own event id and is written to IndexedDB first, then sent to POST /api/v1/scans.
 * Without a network it waits there (待上传 N 条) and goes out as one batch when the browser says it is
 * online again, or when the page is next opened. The scan API answers an event id it has seen with
 * `duplicate`, so sending a batch again after a lost answer records nothing twice.
 *
 * The camera: the browser's BarcodeDetector where it reads Code 128 and QR, otherwise the decoder the
 * service serves itself (static/vendor/barcode-detector), whose WebAssembly is loaded from the same place.
 */
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root || !window.indexedDB || !window.fetch) return;  // the page's forms work without the scanner
  root.hidden = false;

  var USER = root.getAttribute("data-user");
  var FORMATS = ["code_128", "qr_code"];
  var BATCH = 500;  // the API takes up to 1000 scans a batch
  var S10 = /^[A-Z]{2}\d{9}[A-Z]{2}$/;
  var SHEET = /^JJ-[A-Z0-9-]+$/;
  var TYPES = {};  // scan type -> its words on this page
  root.querySelectorAll("input[name=mode]").forEach(function (box) {
    TYPES[box.value] = box.parentNode.textContent.trim();
  });
  var REASONS = {};
  root.querySelectorAll("input[name=reason]").forEach(function (box) {
    REASONS[box.value] = box.parentNode.textContent.trim();
  });

  function $(id) { return document.getElementById(id); }

  // -- the queue in IndexedDB: one record per scan, keyed by its event id --------------------------------

  var opened = null;
  function store(mode) {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var request = indexedDB.open("tongban-courier", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("scans", {keyPath: "event_id"}).createIndex("user", "user");
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return opened.then(function (db) { return db.transaction("scans", mode).objectStore("scans"); });
  }

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function save(record) { return store("readwrite").then(function (s) { return done(s.put(record)); }); }

  // this user's waiting scans, oldest first (another courier's scans on a shared phone wait for them)
  function waiting() {
    return store("readonly").then(function (s) { return done(s.index("user").getAll(USER)); })
      .then(function (records) { return records.sort(function (a, b) { return a.seq - b.seq; }); });
  }

  function forget(ids) {
    return store("readwrite").then(function (s) {
      return Promise.all(ids.map(function (id) { return done(s.delete(id)); }));
    });
  }

  // -- what the page shows ---------------------------------------------------------------------------

  function showCount(why) {
    return waiting().then(function (records) {
      $("queue-count").textContent = String(records.length);
      $("queue").hidden = records.length === 0;
      if (why !== undefined) $("queue-why").textContent = why ? "：" + why : "";
      records.forEach(function (record) { line(record); });
      return records.length;
    });
  }

  function line(record) {
    var item = document.querySelector('#results li[data-event-id="' + record.event_id + '"]');
    if (!item) {
      item = document.createElement("li");
      item.setAttribute("data-event-id", record.event_id);
      item.setAttribute("data-number", record.number);
      item.appendChild(document.createElement("span")).className = "result__what";
      item.appendChild(document.createTextNode(" "));
      item.appendChild(document.createElement("span")).className = "result__status";
      item.querySelector(".result__what").textContent = record.number + " " + record.words;
      $("results").insertBefore(item, $("results").firstChild);
    }
    if (!item.getAttribute("data-status")) mark(item, "queued", "待上传");
    return item;
  }

  function mark(item, status, text) {
    item.setAttribute("data-status", status);
    var words = item.querySelector(".result__status");
    words.className = "result__status result--" + status;
    words.textContent = text;
  }

  var VERDICTS = {recorded: "已记录", duplicate: "已记录（重复上传，未再次记录）"};

  function answered(record, result) {
    var item = line(record);
    var text = VERDICTS[result.status] ||
      ("未记录：" + ((result.error && result.error.message) || "扫描被拒绝。"));
    if (result.packets) text += "（清单上 " + result.packets.length + " 件）";
    mark(item, result.status, text);
    if (result.status !== "rejected") {
      var numbers = result.packets ? result.packets.map(function (p) { return p.tracking_no; }) : [record.number];
      numbers.forEach(function (number) {
        document.querySelectorAll('[data-tracking-no="' + number + '"] .scan-state').forEach(function (state) {
          state.className = "scan-state scan-state--recorded";
          state.textContent = " 已扫描：" + record.words;
        });
      });
    }
  }

  // -- sending ---------------------------------------------------------------------------------------

  var sending = null, again = false;

  function flush() {
    if (sending) { again = true; return sending; }  // a scan made while a batch is on its way goes next
    if (!navigator.onLine) return showCount("没有网络，恢复后自动上传");
    again = false;
    sending = waiting().then(sendFrom).then(function () { return showCount(""); }, function (why) {
      again = false;  // not taken: it waits for the network, the next scan or the next page load
      return showCount(why && why.words ? why.words : "网络不通，恢复网络后自动上传");
    }).then(function () {
      sending = null;
      if (again) return flush();
    });
    return sending;
  }

  function sendFrom(records) {
    if (!records.length) return null;
    var batch = records.slice(0, BATCH);
    var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
    return fetch(root.getAttribute("data-scans-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({scans: batch.map(function (r) { return r.scan; })})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.status !== 200 || !answer.results) {
          // the batch was not taken (signed out, page expired): it stays, said in the server's words
          var message = answer.error && answer.error.message;
          throw {words: (message || "上传失败") + "，扫描仍保存在本机"};
        }
        var byId = {};
        answer.results.forEach(function (result) { byId[result.event_id] = result; });
        batch.forEach(function (record) { answered(record, byId[record.event_id] || {status: "rejected"}); });
        return forget(batch.map(function (r) { return r.event_id; }));
      });
    }).then(function () { return sendFrom(records.slice(BATCH)); });
  }

  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { showCount("没有网络，恢复后自动上传"); });

  // -- making a scan -----------------------------------------------------------------------------------

  function mode() { return root.querySelector("input[name=mode]:checked").value; }

  function showFields() {
    var type = mode();
    $("hub-field").hidden = type !== "arrived_hub" && type !== "departed_hub";
    $("signer-field").hidden = type !== "delivered";
    $("reason-field").hidden = type !== "exception";
    lastSeen = null;  // the same label may now be scanned for the next step
  }
  root.querySelectorAll("input[name=mode]").forEach(function (box) { box.addEventListener("change", showFields); });

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  // the phone's clock, with its own offset (the server reads any offset)
  function now() {
    var d = new Date(), off = -d.getTimezoneOffset(), sign = off >= 0 ? "+" : "-";
    function two(n) { return String(Math.abs(n)).padStart(2, "0"); }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + "T" + two(d.getHours()) +
      ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()) + sign + two(Math.floor(Math.abs(off) / 60)) +
      ":" + two(Math.abs(off) % 60);
  }

  // A number as read or typed: full-width folded, spaces dropped, upper case. The label's QR code holds
  // the tracking page's address: its last part is the number.
  function normalise(value) {
    value = (value || "").normalize("NFKC").replace(/\s+/g, "");
    var tracked = value.match(/\/track\/([^/?#]+)/);
    return (tracked ? decodeURIComponent(tracked[1]) : value).toUpperCase();
  }

  function fieldError(id, message) {
    var error = $(id + "-error");
    error.textContent = message || "";
    error.hidden = !message;
    error.parentNode.classList.toggle("field--error", Boolean(message));
    if (message) $(id === "reason" ? "reason-field" : id).scrollIntoView({block: "center"});
    return !message;
  }

  var seq = Date.now() * 1000;

  function record(raw) {
    var number = normalise(raw);
    var type = mode();
    var scan = {event_id: uuid(), type: type, at: now()};
    if (!fieldError("scan-number", number ? (S10.test(number) || SHEET.test(number) ? "" :
        "“" + number + "”不是邮件号（如 EA000000005CN）或交接清单号，请核对。") : "请扫描或输入邮件号。")) return false;
    if (SHEET.test(number)) scan.manifest_no = number; else scan.tracking_no = number;
    var words = TYPES[type];
    if (type === "arrived_hub" || type === "departed_hub") {
      if ($("hub").value) scan.office_code = $("hub").value;
      words += " " + $("hub").options[$("hub").selectedIndex].text;
    }
    if (type === "delivered") {
      var relation = root.querySelector("input[name=relation]:checked").value;
      var name = $("signer-name").value.trim();
      if (!fieldError("signer-name", relation === "proxy" && !name ? "他人代收的，请填写代收人姓名。" : "")) return false;
      scan.signer = {relation: relation, name: relation === "proxy" ? name : null};
      words += relation === "proxy" ? "（" + name + "代收）" : "（本人签收）";
    }
    if (type === "exception") {
      var reason = root.querySelector("input[name=reason]:checked");
      if (!fieldError("reason", reason ? "" : "请选择未妥投的原因。")) return false;
      scan.reason = reason.value;
      words += "：" + REASONS[reason.value];
    }
    var entry = {event_id: scan.event_id, user: USER, seq: seq++, number: number, words: words, scan: scan};
    save(entry).then(function () { line(entry); return flush(); }, function () {
      fieldError("scan-number", "本机无法保存扫描记录（浏览器存储不可用），请使用手持扫描设备。");
    });
    return true;
  }

  $("manual").addEventListener("submit", function (e) {
    e.preventDefault();
    if (record($("scan-number").value)) { $("scan-number").value = ""; $("scan-number").focus(); }
  });

  // -- the camera ----------------------------------------------------------------------------------------

  var stream = null, detector = null, lastSeen = null;
  var video = $("viewfinder");

  function cameraSays(text) { $("camera-status").textContent = text; }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src; script.onload = resolve; script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function vendored() {
    return loadScript(root.getAttribute("data-decoder")).then(function () {
      var api = window.BarcodeDetectionAPI;
      var wasm = root.getAttribute("data-wasm");
      // our own copy of the .wasm, never the library's default CDN address
      return api.prepareZXingModule({
        overrides: {locateFile: function (path, prefix) { return /\.wasm$/.test(path) ? wasm : prefix + path; }},
        fireImmediately: true
      }).then(function () {
        root.setAttribute("data-detector", "vendored");
        return new api.BarcodeDetector({formats: FORMATS});
      });
    });
  }

  function getDetector() {
    if (detector) return Promise.resolve(detector);
    var found = "BarcodeDetector" in window ? window.BarcodeDetector.getSupportedFormats().then(function (supported) {
      if (!FORMATS.every(function (f) { return supported.indexOf(f) >= 0; })) return vendored();
      root.setAttribute("data-detector", "native");
      return new window.BarcodeDetector({formats: FORMATS});
    }).catch(vendored) : vendored();
    return found.then(function (d) { detector = d; return d; });
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    $("camera-stop").hidden = true;
    $("camera-start").hidden = false;
  }

  function look() {
    if (!stream) return;
    if (video.readyState < 2) { setTimeout(look, 200); return; }
    detector.detect(video).then(function (codes) {
      var numbers = codes.map(function (c) { return normalise(c.rawValue); })
        .filter(function (n) { return S10.test(n) || SHEET.test(n); });
      var number = numbers[0];
      if (number && number !== lastSeen) {
        lastSeen = number;  // the label stays in view: one scan of it, until another label or another step
        $("scan-number").value = number;
        cameraSays("已识别：" + number);
        if (navigator.vibrate) navigator.vibrate(100);
        if (record(number)) $("scan-number").value = "";
      }
      setTimeout(look, 250);
    }, function () { setTimeout(look, 500); });
  }

  $("camera-start").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraSays("此浏览器无法使用摄像头，请手工输入邮件号。");
      return;
    }
    cameraSays("正在打开摄像头……");
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      $("camera-start").hidden = true;
      $("camera-stop").hidden = false;
      return video.play();
    }).then(getDetector).then(function () {
      cameraSays("请将面单上的条码对准取景框。");
      lastSeen = null;
      look();
    }).catch(function () {
      stopCamera();
      cameraSays("无法打开摄像头或识别条码，请手工输入邮件号。");
    });
  });
  $("camera-stop").addEventListener("click", function () { stopCamera(); cameraSays(""); });

  showFields();
  flush();  // what waited since the page was last open
})();
