/*
 * Clinic chat widget: the assistant on any page, with one script tag.
 *
 *   <script src="https://clinic.example/widget/clinic-chat.js" defer
 *     data-server-url="https://assistant.clinic.example"   (Rasa server; default: this host, port 5005)
 *     data-clinic-name="..." data-clinic-phone="..."        (offline message, urgent banner)
 *     data-emergency-number="..."></script>                (emergency banner and call button)
 *
 * It talks to Rasa's socket.io channel (clinic_assistant.channels.socketio) with
 * session persistence. Rules this file keeps, and why:
 *  - Bot text is only ever set with textContent, links are built with DOM calls
 *    and only for http:, https: and tel: - bot text can never become markup. The
 *    page's CSP also requires Trusted Types, so an innerHTML would throw.
 *  - Only the session id is stored in the browser (localStorage): a health
 *    conversation must not stay on a shared computer. After a reload the
 *    transcript comes back from the server (the "session_history" event). The
 *    id is a token the server issued and signed; "End chat" forgets it, clears
 *    the conversation from the page and starts a new session.
 *  - Messages typed while the server is unreachable are kept in memory and sent,
 *    in order, once the session is confirmed again; the offline notice gives the
 *    clinic's and the emergency phone numbers meanwhile.
 *  - Clinic facts come only from the data-* attributes. Without an emergency
 *    number the widget says "your local emergency number" rather than guess one.
 *  - No inline styles or scripts (the CSP forbids them): the look lives in
 *    clinic-chat.css next to this file; the socket.io client is loaded from the
 *    same server (../vendor/), never from a CDN.
 */
(function () {
  "use strict";

  if (window.ClinicChat) {
    return; // Loaded twice on one page: keep the first.
  }

  var STORAGE_KEY = "clinicChat.sessionId";
  var MAX_CHARS = 500;
  var HISTORY_WAIT_MS = 3000; // Servers without the history event: greet after this.
  var TYPING_TIMEOUT_MS = 30000; // Never leave "typing" on for ever.
  var SESSION_ID = /^[0-9a-f]{32}\.[0-9a-f]{32}$/; // id.signature, issued by the server
  var PHONE = /^[0-9+().\- ]{3,25}$/;

  var script = document.currentScript || document.querySelector("script[src*='clinic-chat.js']");

  function attr(name) {
    var value = script ? script.getAttribute(name) : null;
    return value ? value.trim() : "";
  }

  function phoneOr(value, fallback) {
    return PHONE.test(value) && /\d/.test(value) ? value : fallback;
  }

  function httpOrigin(value) {
    try {
      var url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.origin : "";
    } catch (e) {
      return "";
    }
  }

  function telHref(phone) {
    var digits = phone.replace(/[^0-9+]/g, "");
    return /\d{2,}/.test(digits) ? "tel:" + digits : "";
  }

  var config = {
    serverUrl:
      httpOrigin(attr("data-server-url")) ||
      (location.protocol === "https:" ? "https:" : "http:") + "//" + location.hostname + ":5005",
    clinicName: attr("data-clinic-name").slice(0, 120) || "the clinic",
    clinicPhone: phoneOr(attr("data-clinic-phone"), ""),
    emergencyNumber: phoneOr(attr("data-emergency-number"), "")
  };
  var assetBase = script && script.src ? script.src : location.href;

  /* ---------- storage: the session id and nothing else ---------- */

  var storage = {
    get: function () {
      try {
        var id = window.localStorage.getItem(STORAGE_KEY);
        return id && SESSION_ID.test(id) ? id : null;
      } catch (e) {
        return null; // Storage blocked: the conversation lasts as long as the page.
      }
    },
    set: function (id) {
      try {
        window.localStorage.setItem(STORAGE_KEY, id);
      } catch (e) {
        /* see get() */
      }
    },
    clear: function () {
      try {
        window.localStorage.removeItem(STORAGE_KEY);
      } catch (e) {
        /* see get() */
      }
    }
  };

  /* ---------- DOM helpers (no innerHTML anywhere) ---------- */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attrs[name];
      } else if (name === "className") {
        node.className = attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function srOnly(text) {
    return el("span", { className: "cc-sr-only", text: text });
  }

  function telLink(phone, label, className) {
    var href = telHref(phone);
    if (!href) {
      return document.createTextNode(label || phone);
    }
    return el("a", { href: href, className: className || "" }, [label || phone]);
  }

  // The emergency number as a tel: link, or "your local emergency number" if none is set.
  function emergencyName() {
    return config.emergencyNumber || "your local emergency number";
  }

  function emergencyLink() {
    return config.emergencyNumber
      ? telLink(config.emergencyNumber)
      : document.createTextNode(emergencyName());
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /* ---------- links in bot text ---------- */

  // Candidates are found with patterns, then each is re-checked with URL() and
  // built as an <a> whose text is the matched text: nothing else is interpreted.
  var LINK_PATTERNS = [
    { re: /\bhttps?:\/\/[^\s<>"']+/gi, kind: "web" },
    { re: /\btel:\+?[0-9().-]{3,25}/gi, kind: "tel" }
  ];
  [config.clinicPhone, config.emergencyNumber].forEach(function (phone) {
    if (phone) {
      LINK_PATTERNS.push({
        re: new RegExp("(^|[^0-9])(" + escapeRegExp(phone) + ")(?![0-9])", "g"),
        kind: "phone"
      });
    }
  });

  function findLinks(text) {
    var found = [];
    LINK_PATTERNS.forEach(function (pattern) {
      pattern.re.lastIndex = 0;
      var match;
      while ((match = pattern.re.exec(text)) !== null) {
        var raw = pattern.kind === "phone" ? match[2] : match[0];
        var start = match.index + (pattern.kind === "phone" ? match[1].length : 0);
        if (pattern.kind === "web") {
          raw = raw.replace(/[.,;:!?)\]]+$/, ""); // Sentence punctuation is not part of a URL.
        }
        var href = linkHref(raw, pattern.kind);
        if (href) {
          found.push({ start: start, end: start + raw.length, text: raw, href: href, kind: pattern.kind });
        }
        if (match[0].length === 0) {
          pattern.re.lastIndex += 1;
        }
      }
    });
    found.sort(function (a, b) {
      return a.start - b.start || b.end - a.end;
    });
    var kept = [];
    var end = 0;
    found.forEach(function (link) {
      if (link.start >= end) {
        kept.push(link);
        end = link.end;
      }
    });
    return kept;
  }

  function linkHref(raw, kind) {
    if (kind === "web") {
      try {
        var url = new URL(raw);
        return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
      } catch (e) {
        return "";
      }
    }
    return telHref(kind === "tel" ? raw.slice(4) : raw);
  }

  function linkify(text) {
    var fragment = document.createDocumentFragment();
    var at = 0;
    findLinks(text).forEach(function (link) {
      fragment.appendChild(document.createTextNode(text.slice(at, link.start)));
      var a = el("a", { href: link.href }, [link.text]);
      if (link.kind === "web") {
        a.setAttribute("target", "_blank");
        a.setAttribute("rel", "noopener noreferrer");
        a.appendChild(srOnly(" (opens in a new tab)"));
      }
      fragment.appendChild(a);
      at = link.end;
    });
    fragment.appendChild(document.createTextNode(text.slice(at)));
    return fragment;
  }

  // The patient sheet's bullet lines ("- ...") become a real list: screen readers
  // announce "list, 4 items", and long items wrap with a hanging indent.
  function renderText(text) {
    var fragment = document.createDocumentFragment();
    var list = null;
    var paragraph = [];

    function flushParagraph() {
      if (paragraph.length) {
        fragment.appendChild(el("span", { className: "cc-para" }, [linkify(paragraph.join("\n"))]));
        paragraph = [];
      }
    }

    text.split("\n").forEach(function (line) {
      var bullet = /^\s*[-\u2022]\s+(.*)$/.exec(line);
      if (bullet) {
        flushParagraph();
        if (!list) {
          list = el("ul", { className: "cc-list" });
          fragment.appendChild(list);
        }
        list.appendChild(el("li", {}, [linkify(bullet[1])]));
      } else {
        list = null;
        paragraph.push(line);
      }
    });
    flushParagraph();
    return fragment;
  }

  /* ---------- the widget's DOM ---------- */

  var ui = {};

  function buildUi() {
    ui.launcherLabel = el("span", { className: "cc-launcher-label", text: "Chat with us" });
    ui.launcher = el(
      "button",
      { type: "button", className: "cc-launcher", "aria-expanded": "false", "aria-controls": "cc-panel" },
      [el("span", { className: "cc-launcher-icon", "aria-hidden": "true" }), ui.launcherLabel]
    );
    ui.close = el("button", { type: "button", className: "cc-close", "aria-label": "Close chat" }, [
      el("span", { "aria-hidden": "true", text: "\u00d7" })
    ]);
    ui.end = el("button", { type: "button", className: "cc-end" }, ["End chat"]);
    ui.alerts = el("div", { className: "cc-alerts", role: "alert" });
    ui.status = el("div", { className: "cc-status", role: "status" });
    ui.log = el("div", {
      className: "cc-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "Conversation",
      tabindex: "0"
    });
    ui.typing = el("div", { className: "cc-typing", hidden: "" }, [
      el("span", { className: "cc-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      el("span", { text: "The assistant is typing\u2026" })
    ]);
    ui.input = el("input", {
      id: "cc-input",
      className: "cc-input",
      type: "text",
      autocomplete: "off",
      maxlength: String(MAX_CHARS),
      placeholder: "Type your question\u2026",
      enterkeyhint: "send"
    });
    ui.send = el("button", { type: "submit", className: "cc-send" }, ["Send"]);
    ui.form = el("form", { className: "cc-form", novalidate: "" }, [
      el("label", { for: "cc-input", className: "cc-sr-only", text: "Your question" }),
      ui.input,
      ui.send
    ]);
    ui.panel = el(
      "section",
      { id: "cc-panel", className: "cc-panel", role: "dialog", "aria-labelledby": "cc-title", hidden: "" },
      [
        el("div", { className: "cc-header" }, [
          el("div", { className: "cc-heading" }, [
            el("h2", { id: "cc-title", className: "cc-title", text: "Automated assistant" }),
            el("p", { className: "cc-subtitle", text: config.clinicName })
          ]),
          ui.end,
          ui.close
        ]),
        ui.alerts,
        ui.status,
        ui.log,
        ui.typing,
        ui.form,
        el("p", { className: "cc-footnote" }, [
          "General information, not medical advice. In an emergency call ",
          emergencyLink(),
          "."
        ])
      ]
    );
    ui.root = el("div", { id: "clinic-chat", className: "cc-root", hidden: "" }, [ui.panel, ui.launcher]);

    ui.launcher.addEventListener("click", function (event) {
      if (ui.panel.hidden) {
        openPanel(event);
      } else {
        closePanel();
      }
    });
    ui.close.addEventListener("click", closePanel);
    ui.end.addEventListener("click", endChat);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel();
      }
    });
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = ui.input.value.trim().slice(0, MAX_CHARS);
      if (text) {
        ui.input.value = "";
        send(text, text);
      }
      ui.input.focus();
    });
    document.body.appendChild(ui.root);
  }

  function showRoot() {
    ui.root.hidden = false;
  }

  function loadStyles() {
    var link = el("link", { rel: "stylesheet", href: new URL("clinic-chat.css", assetBase).href });
    // Shown once styled, so the launcher never flashes as a bare button.
    link.addEventListener("load", showRoot);
    link.addEventListener("error", showRoot);
    document.head.appendChild(link);
  }

  // Pages that require Trusted Types (ours does) accept a script URL only through
  // a policy. This one passes exactly the bundled socket.io client and nothing
  // else, and it has no createHTML: assigning a string to innerHTML still throws.
  var scriptPolicy = null;

  function trustedScriptUrl(url) {
    if (!window.trustedTypes || !window.trustedTypes.createPolicy) {
      return url;
    }
    if (!scriptPolicy) {
      scriptPolicy = window.trustedTypes.createPolicy("clinic-chat", {
        createScriptURL: function (candidate) {
          if (candidate !== url) {
            throw new TypeError("clinic-chat loads only its own socket.io client");
          }
          return candidate;
        }
      });
    }
    return scriptPolicy.createScriptURL(url);
  }

  var socketIoReady = null;

  function loadSocketIo() {
    if (!socketIoReady) {
      socketIoReady = new Promise(function (resolve, reject) {
        // Always the pinned client (its protocol is the one python-socketio 5
        // speaks). A socket.io the host page loaded itself keeps its window.io.
        var hadIo = Object.prototype.hasOwnProperty.call(window, "io");
        var hostIo = window.io;
        var tag = document.createElement("script");
        tag.src = trustedScriptUrl(new URL("../vendor/socket.io.min.js", assetBase).href);
        tag.addEventListener("load", function () {
          var pinned = window.io;
          if (hadIo) {
            window.io = hostIo;
          }
          if (typeof pinned === "function") {
            resolve(pinned);
          } else {
            socketIoReady = null;
            reject(new Error("socket.io client did not load"));
          }
        });
        tag.addEventListener("error", function () {
          socketIoReady = null; // Try again on the next open.
          reject(new Error("socket.io client did not load"));
        });
        document.head.appendChild(tag);
      });
    }
    return socketIoReady;
  }

  // Focus stays inside the chat. It goes to the text field, except after a tap on
  // a touch screen, where that would pop the keyboard up over the answer: there
  // the conversation gets it. (A click from the keyboard has event.detail 0.)
  function focusInside(event) {
    var tapped = event && event.detail !== 0 && window.matchMedia &&
      window.matchMedia("(pointer: coarse)").matches;
    (tapped ? ui.log : ui.input).focus({ preventScroll: true });
  }

  function openPanel(event) {
    ui.panel.hidden = false;
    ui.root.classList.add("cc-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcherLabel.textContent = "Hide chat";
    focusInside(event);
    scrollToEnd();
    connect();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.root.classList.remove("cc-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcherLabel.textContent = "Chat with us";
    ui.launcher.focus();
  }

  /* ---------- messages ---------- */

  // The patient's latest message (or, before any, the greeting): a long answer is
  // shown from the question that led to it, not from its last line.
  var anchor = null;

  function scrollToEnd() {
    var log = ui.log;
    if (anchor && log.scrollHeight - anchor.offsetTop > log.clientHeight) {
      log.scrollTop = anchor.offsetTop - 8;
    } else {
      log.scrollTop = log.scrollHeight;
    }
  }

  function addBubble(sender, text) {
    var bubble = el("div", { className: "cc-msg cc-msg--" + sender }, [
      srOnly(sender === "user" ? "You: " : "Assistant: "),
      el("span", { className: "cc-text" }, [sender === "bot" ? renderText(text) : text])
    ]);
    ui.log.appendChild(bubble);
    if (sender === "user" || !anchor) {
      anchor = bubble;
    }
    scrollToEnd();
    return bubble;
  }

  function removeQuickReplies() {
    Array.prototype.slice.call(ui.log.querySelectorAll(".cc-replies")).forEach(function (group) {
      group.parentNode.removeChild(group);
    });
  }

  function addQuickReplies(replies) {
    var buttons = replies
      .filter(function (reply) {
        return reply && typeof reply.title === "string" && typeof reply.payload === "string" && reply.title;
      })
      .map(function (reply) {
        var button = el("button", { type: "button", className: "cc-reply" }, [reply.title]);
        button.addEventListener("click", function (event) {
          send(reply.title, reply.payload);
          focusInside(event);
        });
        return button;
      });
    if (buttons.length) {
      ui.log.appendChild(el("div", { className: "cc-replies", role: "group", "aria-label": "Suggested replies" }, buttons));
      scrollToEnd();
    }
  }

  var banner = null;

  function showEscalation(escalation) {
    // An unknown level is treated as an emergency: a false alarm beats a missed one.
    var level = escalation && escalation.level === "urgent" ? "urgent" : "emergency";
    if (banner && banner.level === "emergency" && level === "urgent") {
      return; // Never downgrade what is on screen.
    }
    // Compact: text on the left, the call button on the right, so the conversation
    // keeps room on a phone even with the offline notice shown too.
    var text;
    var call;
    if (level === "emergency") {
      text = [
        el("p", { className: "cc-banner-title", text: "This could be a medical emergency." }),
        el("p", { text: "Call " + emergencyName() + " now or go to the nearest emergency room." })
      ];
      call = config.emergencyNumber
        ? telLink(config.emergencyNumber, "Call " + config.emergencyNumber, "cc-call")
        : null;
    } else {
      text = [
        el("p", { className: "cc-banner-title", text: "Call the clinic right away, today." }),
        el("p", {
          text: "If it gets worse, or you have trouble breathing, swallowing or speaking, call " +
            emergencyName() + "."
        })
      ];
      call = config.clinicPhone
        ? telLink(config.clinicPhone, "Call " + config.clinicPhone, "cc-call")
        : null;
    }
    var content = [el("div", { className: "cc-banner-text" }, text)].concat(call ? [call] : []);
    var node = el("div", { className: "cc-banner cc-banner--" + level, "data-level": level }, content);
    ui.alerts.textContent = "";
    ui.alerts.appendChild(node);
    banner = { level: level, node: node };
  }

  function renderBotMessage(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    var escalation = data.escalation || (data.custom && data.custom.escalation);
    if (escalation) {
      showEscalation(escalation);
    }
    if (typeof data.text === "string" && data.text.trim()) {
      addBubble("bot", data.text);
    }
    var replies = data.quick_replies || data.buttons;
    if (Array.isArray(replies) && replies.length) {
      addQuickReplies(replies);
    }
  }

  /* ---------- typing indicator ---------- */

  var typingTimer = null;

  function setTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    if (on) {
      typingTimer = setTimeout(function () {
        setTyping(false);
      }, TYPING_TIMEOUT_MS);
    }
  }

  /* ---------- connection, session and the offline queue ---------- */

  var state = {
    socket: null,
    sessionId: storage.get(),
    confirmed: false,
    historyLoaded: false,
    greeted: false,
    wasOffline: false,
    queue: []
  };
  var historyTimer = null;
  var statusTimer = null;

  function setStatus(children, className) {
    clearTimeout(statusTimer);
    ui.status.textContent = "";
    ui.status.className = "cc-status" + (className ? " " + className : "");
    if (children) {
      ui.status.appendChild(el("p", {}, children));
    }
  }

  function showOffline() {
    state.confirmed = false;
    setTyping(false);
    if (state.wasOffline) {
      return; // Already shown; re-announcing on every retry would be noise.
    }
    state.wasOffline = true;
    var call = config.clinicPhone
      ? ["Need help now? Call ", telLink(config.clinicPhone), ". "]
      : ["Need help now? Call " + config.clinicName + ". "];
    setStatus(
      [
        el("strong", { text: "We can't reach the assistant right now." }),
        " What you type will be sent when we're back. "
      ]
        .concat(call)
        .concat(["Emergency: call ", emergencyLink(), "."]),
      "cc-status--offline"
    );
  }

  function showOnline() {
    if (!state.wasOffline) {
      return;
    }
    state.wasOffline = false;
    setStatus(["Connected again."], "cc-status--online");
    statusTimer = setTimeout(function () {
      setStatus(null);
    }, 5000);
  }

  function canSend() {
    return state.socket && state.socket.connected && state.confirmed && state.historyLoaded;
  }

  function emitMessage(message) {
    state.socket.emit("user_uttered", { message: message, session_id: state.sessionId });
    setTyping(true);
  }

  function send(title, payload) {
    removeQuickReplies();
    var bubble = addBubble("user", title);
    if (canSend()) {
      emitMessage(payload);
    } else {
      var note = el("span", { className: "cc-pending", text: "Not sent yet \u2013 waiting for the connection" });
      bubble.appendChild(note);
      state.queue.push({ payload: payload, note: note });
    }
  }

  function flushQueue() {
    while (canSend() && state.queue.length) {
      var item = state.queue.shift();
      if (item.note) {
        item.note.parentNode.removeChild(item.note);
      }
      emitMessage(item.payload);
    }
  }

  // On a shared computer the next person must not find the conversation: forget
  // the session id, clear the page and ask the server for a new session.
  function endChat() {
    storage.clear();
    state.sessionId = null;
    state.confirmed = false;
    state.historyLoaded = true; // A new session has no history to wait for.
    state.greeted = true;
    state.queue = [{ payload: "/greet", note: null }];
    clearTimeout(historyTimer);
    setTyping(false);
    ui.log.textContent = "";
    ui.alerts.textContent = "";
    anchor = null;
    setStatus(["Chat ended. This conversation is no longer shown on this device."]);
    if (state.socket && state.socket.connected) {
      state.socket.emit("session_request", { session_id: null, history: false });
    }
    ui.input.focus();
  }

  function sessionReady(hasHistory) {
    if (!state.greeted && !hasHistory) {
      // A new conversation: the server answers the hidden /greet with the
      // greeting, the disclaimer and the menu. First in line, before anything
      // the patient typed while offline; never shown as the patient's message.
      state.queue.unshift({ payload: "/greet", note: null });
    }
    state.greeted = true;
    flushQueue();
  }

  function renderHistory(messages) {
    if (!messages.length) {
      return;
    }
    // Restored messages are not read out one by one: the live region is off
    // while they are added, and one status line says what happened.
    ui.log.setAttribute("aria-live", "off");
    messages.forEach(function (item) {
      if (!item || typeof item !== "object") {
        return;
      }
      if (item.sender === "user") {
        if (typeof item.text === "string") {
          removeQuickReplies();
          addBubble("user", item.text);
        }
      } else {
        renderBotMessage(item);
      }
    });
    anchor = null; // Restored: show the latest messages.
    scrollToEnd();
    setTimeout(function () {
      ui.log.setAttribute("aria-live", "polite");
    }, 250);
    setStatus(["Your conversation so far is shown below."]);
    statusTimer = setTimeout(function () {
      setStatus(null);
    }, 5000);
  }

  function onHistory(data) {
    if (state.historyLoaded) {
      return;
    }
    clearTimeout(historyTimer);
    state.historyLoaded = true;
    var messages = data && Array.isArray(data.messages) ? data.messages : [];
    renderHistory(messages);
    sessionReady(messages.length > 0);
  }

  function connect() {
    if (state.socket) {
      return;
    }
    loadSocketIo().then(
      function (io) {
        if (state.socket) {
          return;
        }
        var socket = io(config.serverUrl, {
          path: "/socket.io",
          // WebSocket first (one round trip less); long-polling if it is blocked.
          transports: ["websocket", "polling"],
          tryAllTransports: true,
          reconnection: true,
          reconnectionDelay: 1000,
          reconnectionDelayMax: 5000,
          timeout: 10000
        });
        state.socket = socket;
        socket.on("connect", function () {
          state.confirmed = false;
          socket.emit("session_request", { session_id: state.sessionId, history: !state.historyLoaded });
        });
        socket.on("session_confirm", function (id) {
          var sessionId = typeof id === "string" ? id : id && id.session_id;
          if (typeof sessionId !== "string" || !sessionId) {
            return;
          }
          if (sessionId !== state.sessionId) {
            state.sessionId = sessionId;
            storage.set(sessionId);
          }
          state.confirmed = true;
          showOnline();
          if (state.historyLoaded) {
            flushQueue();
          } else {
            historyTimer = setTimeout(function () {
              onHistory(null);
            }, HISTORY_WAIT_MS);
          }
        });
        socket.on("session_history", onHistory);
        socket.on("bot_uttered", function (data) {
          setTyping(false);
          renderBotMessage(data);
        });
        socket.on("connect_error", showOffline);
        socket.on("disconnect", function (reason) {
          showOffline();
          if (reason === "io server disconnect") {
            // socket.io does not reconnect by itself after a server-side disconnect.
            setTimeout(function () {
              socket.connect();
            }, 1000);
          }
        });
      },
      function () {
        showOffline();
      }
    );
  }

  /* ---------- start ---------- */

  function start() {
    buildUi();
    loadStyles();
    loadSocketIo().catch(function () {
      /* reported when the chat is opened */
    });
    window.ClinicChat = {
      open: function () {
        openPanel();
      },
      close: closePanel,
      version: "1.0.0"
    };
  }

  window.ClinicChat = { starting: true };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
