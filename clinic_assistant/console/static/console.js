// Staff console behaviour: new-escalation alert (visible, optionally audible),
// keeping a half-typed note from being replaced by the polling, the idle logoff
// and the analytics charts. Loaded as a file (the CSP allows no inline script).
(function () {
  "use strict";

  var body = document.body;
  var idleSeconds = Number(body.getAttribute("data-idle-seconds") || "900");

  // Idle logoff: the server ends a session after idleSeconds without a request the
  // person made; this takes the page to the login form when that time has passed.
  var idleTimer = null;
  function armIdle() {
    if (idleTimer) { window.clearTimeout(idleTimer); }
    idleTimer = window.setTimeout(function () {
      window.location.assign("/");
    }, (idleSeconds + 1) * 1000);
  }
  armIdle();

  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail && event.detail.xhr && event.detail.xhr.status === 401) {
      window.location.assign("/login?idle=1");
    }
  });

  // New escalations: the feed carries when an open escalation last had a message
  // (a new one, or a repeat that may have raised its level or reopened it) and its id.
  var feed = document.getElementById("escalation-feed");
  if (feed) {
    var soundBox = document.getElementById("sound-alert");
    var alertBox = document.getElementById("new-escalation");
    var alertText = document.getElementById("new-escalation-text");
    var dismiss = document.getElementById("dismiss-alert");
    var latestOf = function (root) {
      var node = root.querySelector("[data-latest-at]");
      return node
        ? { at: Number(node.getAttribute("data-latest-at")), id: node.getAttribute("data-latest-id") }
        : { at: 0, id: "" };
    };
    var seen = latestOf(feed).at;
    try { soundBox.checked = window.localStorage.getItem("console-sound") === "1"; } catch (e) { /* private mode */ }
    soundBox.addEventListener("change", function () {
      try { window.localStorage.setItem("console-sound", soundBox.checked ? "1" : "0"); } catch (e) { /* private mode */ }
    });
    dismiss.addEventListener("click", function () { alertBox.hidden = true; document.title = document.title.replace(/^\(!\) /, ""); });

    var beep = function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { return; }
      try {
        var context = new Context();
        var tone = context.createOscillator();
        var gain = context.createGain();
        tone.frequency.value = 880;
        gain.gain.value = 0.15;
        tone.connect(gain); gain.connect(context.destination);
        tone.start(); tone.stop(context.currentTime + 0.6);
      } catch (e) { /* no audio device */ }
    };

    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target !== feed) { return; }
      // Parsed inertly: nothing in a parsed document loads or runs.
      var incoming = new DOMParser().parseFromString(event.detail.serverResponse, "text/html");
      var latest = latestOf(incoming);
      if (latest.at > seen) {
        seen = latest.at;
        alertText.textContent = "Escalation #" + latest.id + " has a new message.";
        alertBox.hidden = false;
        if (document.title.indexOf("(!) ") !== 0) { document.title = "(!) " + document.title; }
        if (soundBox.checked) { beep(); }
      }
      // Never wipe a note someone is typing or a focused control.
      var busy = Array.prototype.some.call(feed.querySelectorAll("input[name=note]"), function (input) {
        return input.value !== "" || input === document.activeElement;
      }) || feed.contains(document.activeElement);
      if (busy) { event.detail.shouldSwap = false; }
    });
  }

  // Charts (analytics page): data from a JSON script element, drawn by Chart.js.
  var dataNode = document.getElementById("chart-data");
  if (dataNode && window.Chart) {
    var data = JSON.parse(dataNode.textContent);
    var Chart = window.Chart;
    var colors = { emergency: "#a4001d", urgent: "#c77700" };
    var bar = function (id, labels, values, label, horizontal) {
      var node = document.getElementById(id);
      if (!node) { return; }
      new Chart(node, {
        type: "bar",
        data: { labels: labels, datasets: [{ label: label, data: values, backgroundColor: "#0b5cad" }] },
        options: {
          indexAxis: horizontal ? "y" : "x",
          animation: false,
          plugins: { legend: { display: false } },
          // Counts: whole numbers on the value axis.
          scales: horizontal
            ? { x: { beginAtZero: true, ticks: { precision: 0 } } }
            : { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    };
    bar("chart-topics", data.topics.labels, data.topics.values, "Messages", true);
    bar("chart-channels", data.channels.labels, data.channels.values, "Conversations", false);
    new Chart(document.getElementById("chart-not-understood"), {
      type: "line",
      data: { labels: data.not_understood.labels, datasets: [{ label: "% not understood", data: data.not_understood.values, borderColor: "#a4001d", backgroundColor: "#a4001d" }] },
      options: { animation: false, scales: { y: { beginAtZero: true, suggestedMax: 100 } } }
    });
    new Chart(document.getElementById("chart-escalations"), {
      type: "bar",
      data: {
        labels: data.escalations.labels,
        datasets: Object.keys(data.escalations.levels).map(function (level) {
          return { label: level, data: data.escalations.levels[level], backgroundColor: colors[level] || "#555" };
        })
      },
      options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
    body.setAttribute("data-charts", "drawn");
  }
})();
