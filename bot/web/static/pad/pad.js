// The signature pad (a Telegram Mini App). It asks the bot what is being accepted,
// lets the signer draw with a finger, a stylus or the mouse, and posts the strokes
// (points with their times) and a PNG of them, with Telegram's initData that proves
// who opened the page. Telegram's script may be absent (tests, a plain browser): the
// page then reads no theme and no initData from it, and says so.
"use strict";

(function () {
  const tg = (window.Telegram && window.Telegram.WebApp) || null;
  const catalog = JSON.parse(document.getElementById("pad-texts").textContent);
  const query = new URLSearchParams(window.location.search);
  const intervention = query.get("i") || "";
  const who = query.get("who") || "";
  const initData = (tg && tg.initData) || "";

  // Ink on the screen is drawn in the theme's text colour; the PNG sent is always
  // dark ink on a transparent background, as a report prints it.
  const LINE_WIDTH = 2.6;
  const EXPORT_INK = "#10204a";
  const EXPORT_SCALE_MAX = 2;
  const EXPORT_WIDTH_MAX = 1600;
  // Less ink than this (in CSS pixels of path) is not a signature yet.
  const INK_MIN_LENGTH = 12;
  const CLOSE_AFTER_MS = 900;

  const $ = (id) => document.getElementById(id);
  const canvas = $("canvas");
  const context = canvas.getContext("2d");

  let language = firstLanguage();
  let strokes = []; // each stroke: [{x, y, t}, ...] in the frame's CSS pixels
  let current = null;
  let frame = null; // {width, height}: the pad's size when the first stroke began
  let finished = false;
  let sending = false;
  let lastPayload = null; // what was posted, sent again as it was after a network error

  // Texts ------------------------------------------------------------------------

  function firstLanguage() {
    const code =
      (tg && tg.initDataUnsafe && tg.initDataUnsafe.user && tg.initDataUnsafe.user.language_code) ||
      navigator.language ||
      "";
    const base = code.split("-")[0].toLowerCase();
    return catalog[base] ? base : catalog.default;
  }

  function text(key) {
    return (catalog[language] && catalog[language][key]) || catalog[catalog.default][key] || "";
  }

  function translate() {
    document.documentElement.lang = language;
    document.title = text("title");
    for (const element of document.querySelectorAll("[data-text]")) {
      element.textContent = text(element.dataset.text);
    }
  }

  function say(message, kind) {
    const status = $("status");
    status.removeAttribute("data-text");
    status.textContent = message;
    status.className = "status" + (kind ? " " + kind : "");
  }

  // Telegram's theme -------------------------------------------------------------

  function applyTheme() {
    if (!tg) return;
    const root = document.documentElement.style;
    const params = tg.themeParams || {};
    for (const [name, value] of Object.entries(params)) {
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.setProperty("--tg-theme-" + name.replace(/_/g, "-"), value);
      }
    }
    if (tg.colorScheme === "dark" || tg.colorScheme === "light") {
      root.setProperty("color-scheme", tg.colorScheme);
    }
    redraw();
  }

  function inkColour() {
    return getComputedStyle(document.documentElement).getPropertyValue("--text").trim() || "#000";
  }

  // The pad ------------------------------------------------------------------------

  function fit() {
    const width = canvas.parentElement.clientWidth;
    const height = Math.round(Math.min(Math.max(width * 0.5, 170), 320));
    const ratio = window.devicePixelRatio || 1;
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    redraw();
  }

  // Points are kept in the pad's size when signing began; a pad resized since (the
  // phone turned) shows them scaled.
  function scale() {
    return frame ? canvas.clientWidth / frame.width : 1;
  }

  function trace(target, list, factor, colour, width) {
    target.strokeStyle = colour;
    target.fillStyle = colour;
    target.lineWidth = width;
    target.lineCap = "round";
    target.lineJoin = "round";
    for (const stroke of list) {
      if (stroke.length === 1) {
        target.beginPath();
        target.arc(stroke[0].x * factor, stroke[0].y * factor, width / 2, 0, 2 * Math.PI);
        target.fill();
        continue;
      }
      // A smooth line: quadratic curves through the middles of the segments.
      target.beginPath();
      target.moveTo(stroke[0].x * factor, stroke[0].y * factor);
      for (let i = 1; i < stroke.length - 1; i++) {
        const middleX = ((stroke[i].x + stroke[i + 1].x) / 2) * factor;
        const middleY = ((stroke[i].y + stroke[i + 1].y) / 2) * factor;
        target.quadraticCurveTo(stroke[i].x * factor, stroke[i].y * factor, middleX, middleY);
      }
      const last = stroke[stroke.length - 1];
      target.lineTo(last.x * factor, last.y * factor);
      target.stroke();
    }
  }

  function redraw() {
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    const list = current ? strokes.concat([current]) : strokes;
    trace(context, list, scale(), inkColour(), LINE_WIDTH * scale());
  }

  function inkLength() {
    let length = 0;
    for (const stroke of strokes) {
      for (let i = 1; i < stroke.length; i++) {
        length += Math.hypot(stroke[i].x - stroke[i - 1].x, stroke[i].y - stroke[i - 1].y);
      }
    }
    return length;
  }

  function refreshButtons() {
    const idle = !finished && !sending;
    $("undo").disabled = !idle || strokes.length === 0;
    $("clear").disabled = !idle || strokes.length === 0;
    $("confirm").disabled = !idle || inkLength() < INK_MIN_LENGTH;
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    const factor = scale();
    return {
      x: Math.round(((event.clientX - box.left) / factor) * 10) / 10,
      y: Math.round(((event.clientY - box.top) / factor) * 10) / 10,
      t: Math.round(performance.timeOrigin + event.timeStamp),
    };
  }

  function begin(event) {
    if (finished || sending || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (!frame) frame = { width: canvas.clientWidth, height: canvas.clientHeight };
    current = [point(event)];
    lastPayload = null;
    redraw();
  }

  function extend(event) {
    if (!current) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of events.length ? events : [event]) current.push(point(each));
    redraw();
  }

  function end(event) {
    if (!current) return;
    event.preventDefault();
    strokes.push(current);
    current = null;
    redraw();
    refreshButtons();
  }

  function undo() {
    strokes.pop();
    lastPayload = null;
    redraw();
    refreshButtons();
  }

  function clear() {
    strokes = [];
    frame = null;
    lastPayload = null;
    redraw();
    refreshButtons();
  }

  function png() {
    const factor = Math.min(EXPORT_SCALE_MAX, EXPORT_WIDTH_MAX / frame.width);
    const out = document.createElement("canvas");
    out.width = Math.round(frame.width * factor);
    out.height = Math.round(frame.height * factor);
    trace(out.getContext("2d"), strokes, factor, EXPORT_INK, LINE_WIDTH * factor);
    return out.toDataURL("image/png").split(",")[1];
  }

  // Talking to the bot -----------------------------------------------------------

  async function ask(path, options) {
    const response = await fetch(path, options);
    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      body = {};
    }
    return { status: response.status, body };
  }

  function refused(answer) {
    say(answer.body.message || text("unreadable"), "problem");
  }

  async function load() {
    translate();
    applyTheme();
    if (!initData) {
      say(text("outside_telegram"), "problem");
      return;
    }
    let answer;
    try {
      const where = "pad/info?" + new URLSearchParams({ i: intervention, who: who });
      answer = await ask(where, { headers: { Authorization: "tma " + initData } });
    } catch (error) {
      say(text("unreadable"), "problem");
      return;
    }
    if (answer.body.language && catalog[answer.body.language]) {
      language = answer.body.language;
      translate();
    }
    if (answer.status !== 200) {
      refused(answer);
      return;
    }
    show(answer.body);
  }

  function show(info) {
    const title = $("title");
    title.dataset.text = info.who === "technician" ? "title_own" : "title_client";
    title.textContent = text(title.dataset.text);
    document.title = title.textContent;
    $("number").textContent = info.number;
    $("client").textContent = info.client;
    $("total").textContent = info.total;
    $("reservations").textContent = info.reservations || text("without_reservations");
    $("signer-label").textContent = text(info.who === "technician" ? "technician" : "signer");
    $("signer").textContent = info.signer;
    say("");
    $("summary").hidden = false;
    $("pad").hidden = false;
    fit();
    refreshButtons();
  }

  async function confirm() {
    if (sending || finished || inkLength() < INK_MIN_LENGTH) return;
    sending = true;
    refreshButtons();
    say(text("sending"));
    if (!lastPayload) {
      lastPayload = JSON.stringify({
        initData: initData,
        intervention: intervention,
        who: who,
        strokes: strokes,
        png: png(),
      });
    }
    let answer;
    try {
      answer = await ask("pad/sign", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: lastPayload,
      });
    } catch (error) {
      sending = false;
      say(text("network"), "problem");
      refreshButtons();
      return;
    }
    sending = false;
    if (answer.status === 200) {
      finished = true;
      refreshButtons();
      say(text("done"), "done");
      if (tg && tg.HapticFeedback) tg.HapticFeedback.notificationOccurred("success");
      if (tg) setTimeout(() => tg.close(), CLOSE_AFTER_MS);
      return;
    }
    refused(answer);
    if (answer.status === 400) {
      // The drawing was refused: sign again.
      lastPayload = null;
    } else {
      finished = true;
    }
    refreshButtons();
  }

  // Wiring -----------------------------------------------------------------------

  canvas.addEventListener("pointerdown", begin);
  canvas.addEventListener("pointermove", extend);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("undo").addEventListener("click", undo);
  $("clear").addEventListener("click", clear);
  $("confirm").addEventListener("click", confirm);
  window.addEventListener("resize", () => {
    if (!$("pad").hidden) fit();
  });
  if (tg) {
    tg.ready();
    if (tg.expand) tg.expand();
    // A downward stroke must not close the page (Telegram's swipe to close).
    if (tg.disableVerticalSwipes) tg.disableVerticalSwipes();
    if (tg.onEvent) tg.onEvent("themeChanged", applyTheme);
  }
  load();
})();
