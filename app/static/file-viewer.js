/* 通办寄递: files shown in the page with no plug-in (macros.html `file_viewer`).

   A PDF is drawn page by page into canvases by the vendored PDF.js (static/vendor/pdfjs), whose worker
   is this service's own file: the pages' policy (script-src 'self') covers it, and nothing is fetched
   from another host (no cMaps, standard fonts or wasm are asked for). Images are plain <img> and need
   nothing here. Without scripts the "打开文件" link still opens the file in a new tab.

   Keyboard: the page box takes the focus; ←/→ or PageUp/PageDown go to the previous/next page, + and -
   zoom, 0 goes back to fitting the width. The buttons do the same and say the page and zoom aloud. */
import * as pdfjs from "./vendor/pdfjs/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = new URL("./vendor/pdfjs/pdf.worker.min.mjs", import.meta.url).href;

const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];

function button(box, name) { return box.querySelector("[data-viewer-" + name + "]"); }

async function show(box) {
  const url = box.getAttribute("data-url");
  const pagesBox = button(box, "canvas-box");
  const status = button(box, "status");
  const toolbar = button(box, "toolbar");
  let doc;
  try {
    doc = await pdfjs.getDocument({url: url, withCredentials: true, enableXfa: false,
                                   isEvalSupported: false, useSystemFonts: true, useWasm: false,
                                   stopAtErrors: false}).promise;
  } catch (error) {
    box.setAttribute("data-viewer-state", "failed");
    status.textContent = "无法在页面中显示该文件，请点击“打开文件”查看。";
    return;
  }
  const canvases = [];
  let zoom = 1;     // relative to fitting the box's width
  let current = 1;

  async function draw() {
    const width = Math.max(280, pagesBox.clientWidth - 16);
    const ratio = window.devicePixelRatio || 1;
    for (let n = 1; n <= doc.numPages; n += 1) {
      const page = await doc.getPage(n);
      const natural = page.getViewport({scale: 1});
      const scale = (width / natural.width) * zoom;
      const viewport = page.getViewport({scale: scale * ratio});
      const canvas = canvases[n - 1];
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = Math.floor(viewport.width / ratio) + "px";   // CSSOM: allowed by the policy
      canvas.style.height = Math.floor(viewport.height / ratio) + "px";
      await page.render({canvas: canvas, canvasContext: canvas.getContext("2d"), viewport: viewport}).promise;
      canvas.setAttribute("data-rendered", "true");
    }
    box.setAttribute("data-viewer-state", "rendered");
    status.textContent = "共 " + doc.numPages + " 页。点击文件区域后，按 ← → 翻页，按 + − 缩放，按 0 适合宽度。";
    say();
  }

  function say() {
    button(box, "page").textContent = String(current);
    button(box, "zoom").textContent = Math.round(zoom * 100) + "%";
    button(box, "prev").disabled = current <= 1;
    button(box, "next").disabled = current >= doc.numPages;
    button(box, "zoom-out").disabled = zoom <= ZOOMS[0];
    button(box, "zoom-in").disabled = zoom >= ZOOMS[ZOOMS.length - 1];
  }

  function go(n) {
    current = Math.min(doc.numPages, Math.max(1, n));
    const canvas = canvases[current - 1];
    pagesBox.scrollTop = canvas.parentNode.offsetTop;  // the box is the frames' offset parent
    say();
  }

  function rezoom(step) {
    const at = ZOOMS.indexOf(zoom);
    const next = step === 0 ? 1 : ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, at + step))];
    if (next !== zoom) { zoom = next; draw().then(function () { go(current); }); }
  }

  for (let n = 1; n <= doc.numPages; n += 1) {
    const frame = document.createElement("div");
    frame.className = "file-viewer__page";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", (box.getAttribute("data-title") || "文件") + " 第" + n + "页，共" + doc.numPages + "页");
    frame.appendChild(canvas);
    pagesBox.appendChild(frame);
    canvases.push(canvas);
  }
  button(box, "pages").textContent = String(doc.numPages);
  toolbar.hidden = false;
  button(box, "prev").addEventListener("click", function () { go(current - 1); });
  button(box, "next").addEventListener("click", function () { go(current + 1); });
  button(box, "zoom-in").addEventListener("click", function () { rezoom(1); });
  button(box, "zoom-out").addEventListener("click", function () { rezoom(-1); });
  button(box, "fit").addEventListener("click", function () { rezoom(0); });
  pagesBox.addEventListener("keydown", function (e) {
    const keys = {ArrowRight: function () { go(current + 1); }, PageDown: function () { go(current + 1); },
                  ArrowLeft: function () { go(current - 1); }, PageUp: function () { go(current - 1); },
                  "+": function () { rezoom(1); }, "=": function () { rezoom(1); },
                  "-": function () { rezoom(-1); }, "0": function () { rezoom(0); }};
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  pagesBox.addEventListener("scroll", function () {
    // the page whose top is nearest the box's top is the one the count names
    let best = 1;
    for (let n = 1; n <= canvases.length; n += 1) {
      if (canvases[n - 1].parentNode.offsetTop <= pagesBox.scrollTop + 20) best = n;
    }
    if (best !== current) { current = best; say(); }
  });
  await draw();
}

document.querySelectorAll("[data-file-viewer][data-kind=pdf]").forEach(function (box) { show(box); });
