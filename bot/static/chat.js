// citizenbot web chat: renders the bot's replies (reply_to_dict JSON) and sends messages.
// Untrusted text only ever reaches the page through textContent and text nodes, never as HTML.
(function () {
  "use strict";

  var API = "/api/chat";
  var UPDATES = "/api/chat/updates";
  var POLL_MS = 15000;
  var STORE_KEY = "citizenbot.transcript.v1";
  var MAX_STORED = 150;
  var MAX_IMAGE_BYTES = 5 * 1024 * 1024;
  var MAX_PHOTO_SIDE = 1600; // photos are shrunk before upload: faster on phones
  var COORDS_RE = /^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,，]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/;
  // A URL ends at whitespace or at punctuation that is not part of it in zh-TW text.
  var URL_RE = /https?:\/\/[^\s<>"'）」』】〕，。、；！？]+/g;

  var log = document.getElementById("log");
  var statusEl = document.getElementById("status");
  var choicesBox = document.getElementById("choices");
  var composer = document.getElementById("composer");
  var input = document.getElementById("message");
  var locationForm = document.getElementById("location-form");
  var locationInput = document.getElementById("location-input");
  var locationHere = document.getElementById("location-here");
  var photoForm = document.getElementById("photo-form");
  var photoInput = document.getElementById("photo-input");

  var busy = false;

  // --- transcript kept for this tab (a reload shows the conversation again) -------------
  function loadTranscript() {
    try {
      var items = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }
  function remember(item) {
    try {
      var items = loadTranscript();
      items.push(item);
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(items.slice(-MAX_STORED)));
    } catch (e) {
      /* storage full or disabled: the chat still works */
    }
  }

  // --- safe building blocks -------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(uri) {
    try {
      var url = new URL(String(uri), window.location.href);
      if (["http:", "https:", "tel:", "mailto:"].indexOf(url.protocol) >= 0) return url.href;
    } catch (e) {
      /* not a URL */
    }
    return null;
  }

  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
    if (!/^(tel|mailto):/.test(href)) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    return a;
  }

  // Text with its URLs as links; line breaks are kept by CSS (white-space: pre-wrap).
  function appendLinkified(parent, text) {
    text = String(text || "");
    var last = 0;
    var match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(text)) !== null) {
      var url = match[0].replace(/[.,;:!?)\]]+$/, "");
      var href = safeHref(url);
      if (!href || !url) continue;
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      parent.appendChild(link(href, url));
      last = match.index + url.length;
      URL_RE.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function speaker(name) {
    return el("span", "visually-hidden", name + "：");
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  // --- rendering ----------------------------------------------------------------------
  function addUser(text, imageUrl) {
    var bubble = el("div", "msg user");
    bubble.appendChild(speaker("您"));
    if (imageUrl) {
      var img = el("img");
      img.src = imageUrl;
      img.alt = "您傳送的照片";
      bubble.appendChild(img);
    } else {
      bubble.appendChild(document.createTextNode(text));
    }
    log.appendChild(bubble);
    scrollDown();
  }

  function addError(text) {
    var bubble = el("div", "msg error");
    bubble.appendChild(speaker("系統訊息"));
    bubble.appendChild(document.createTextNode(text));
    log.appendChild(bubble);
    scrollDown();
  }

  function renderReply(reply) {
    if (!reply || typeof reply !== "object") return;
    if (reply.type === "text") {
      var bubble = el("div", "msg bot");
      bubble.appendChild(speaker("小幫手"));
      appendLinkified(bubble, reply.text);
      log.appendChild(bubble);
    } else if (reply.type === "cards") {
      var group = el("div", "cards");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", String(reply.alt_text || "資訊卡"));
      (reply.cards || []).forEach(function (card) {
        var article = el("article", "card");
        var imgHref = card.image_url ? safeHref(card.image_url) : null;
        if (imgHref && /^https?:/.test(imgHref)) {
          var img = el("img");
          img.src = imgHref;
          img.alt = "";
          article.appendChild(img);
        }
        article.appendChild(el("h3", null, card.title));
        var body = el("p");
        appendLinkified(body, card.body);
        article.appendChild(body);
        var buttons = el("div", "buttons");
        (card.buttons || []).forEach(function (choice) {
          var node = choiceControl(choice);
          if (node) buttons.appendChild(node);
        });
        if (buttons.childNodes.length) article.appendChild(buttons);
        group.appendChild(article);
      });
      log.appendChild(group);
    } else if (reply.type === "place") {
      var place = el("div", "place");
      place.appendChild(speaker("小幫手"));
      place.appendChild(el("h3", null, reply.title));
      place.appendChild(el("p", null, reply.address));
      var lat = Number(reply.latitude);
      var lng = Number(reply.longitude);
      if (isFinite(lat) && isFinite(lng)) {
        var map = link("https://www.google.com/maps?q=" + lat + "," + lng, "在 Google 地圖查看（另開視窗）");
        place.appendChild(map);
      }
      log.appendChild(place);
    }
    scrollDown();
  }

  function showChoices(choices) {
    while (choicesBox.firstChild) choicesBox.removeChild(choicesBox.firstChild);
    (choices || []).forEach(function (choice) {
      var node = choiceControl(choice, true);
      if (node) choicesBox.appendChild(node);
    });
    choicesBox.hidden = !choicesBox.childNodes.length;
    scrollDown(); // the log got shorter or taller: keep its end in view
  }

  // Replies of one answer; the quick replies of the last one are offered (as on LINE).
  function renderReplies(replies, store) {
    if (!Array.isArray(replies) || !replies.length) return;
    replies.forEach(function (reply) {
      renderReply(reply);
      if (store) remember({ who: "bot", reply: reply });
    });
    showChoices(replies[replies.length - 1].choices);
  }

  // --- choices -------------------------------------------------------------------------
  function choiceControl(choice, quick) {
    if (!choice || !choice.label) return null;
    var label = String(choice.label);
    if (choice.action === "uri") {
      var href = safeHref(choice.uri);
      if (!href) return null;
      var a = link(href, label);
      a.className = "choice-link";
      return a;
    }
    var button = el("button", null, label);
    button.type = "button";
    button.addEventListener("click", function () {
      pick(choice, quick);
    });
    return button;
  }

  function pick(choice, quick) {
    var action = choice.action || "message";
    if (action === "location") {
      openPanel(locationForm, locationInput);
      return;
    }
    if (action === "camera" || action === "camera_roll") {
      if (action === "camera") photoInput.setAttribute("capture", "environment");
      else photoInput.removeAttribute("capture");
      openPanel(photoForm, photoInput);
      return;
    }
    if (action === "postback") {
      send({ postback: choice.data, display: choice.text || undefined }, choice.text || null);
    } else {
      var text = choice.text || choice.label;
      send({ text: text }, text);
    }
    if (quick) input.focus(); // the button is about to go away: keep keyboard users in place
  }

  function openPanel(panel, field) {
    closePanels();
    panel.hidden = false;
    field.focus();
  }

  function closePanels() {
    [locationForm, photoForm].forEach(function (panel) {
      panel.hidden = true;
      panel.reset();
    });
  }

  // --- talking to the server -------------------------------------------------------------
  function setStatus(text) {
    statusEl.textContent = text || "";
  }

  function request(url, options) {
    return window.fetch(url, Object.assign({ credentials: "same-origin" }, options)).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          if (!response.ok) {
            var message = body && body.error && body.error.message;
            throw new Error(message || "系統暫時無法回應（" + response.status + "），請稍後再試；急事請撥 1999。");
          }
          return body;
        });
    });
  }

  function send(payload, shown, imageUrl) {
    if (busy) {
      setStatus("請稍候，正在處理上一則訊息…");
      return Promise.resolve(false);
    }
    busy = true;
    log.setAttribute("aria-busy", "true");
    if (shown || imageUrl) {
      addUser(shown, imageUrl);
      remember({ who: "user", text: imageUrl ? "📷 已傳送照片" : shown });
    }
    showChoices([]);
    setStatus("小幫手正在回覆…");
    return request(API, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    })
      .then(function (body) {
        setStatus("");
        renderReplies(body.replies, true);
        return true;
      })
      .catch(function (err) {
        setStatus("");
        addError(err && err.message && !/fetch|network/i.test(err.message)
          ? err.message
          : "連線失敗，請檢查網路後再試一次。");
        return false;
      })
      .finally(function () {
        busy = false;
        log.removeAttribute("aria-busy");
      });
  }

  function poll() {
    if (busy || document.visibilityState === "hidden") return;
    request(UPDATES, { method: "GET", headers: { Accept: "application/json" } })
      .then(function (body) {
        renderReplies(body.replies, true);
      })
      .catch(function () {
        /* try again at the next tick */
      });
  }

  // --- the forms ---------------------------------------------------------------------------
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      setStatus("請先輸入訊息。");
      input.focus();
      return;
    }
    if (busy) {
      setStatus("請稍候，正在處理上一則訊息…");
      return;
    }
    input.value = "";
    closePanels();
    send({ text: text }, text).then(function (ok) {
      if (!ok && !input.value) input.value = text; // keep what was typed when sending failed
    });
  });

  locationForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = locationInput.value.trim();
    if (!value) return;
    var m = COORDS_RE.exec(value);
    var lat = m ? Number(m[1]) : NaN;
    var lng = m ? Number(m[2]) : NaN;
    closePanels();
    if (m && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
      send({ location: { latitude: lat, longitude: lng } }, "📍 " + lat + ", " + lng);
    } else {
      send({ text: value }, "📍 " + value);
    }
    input.focus();
  });

  if (!("geolocation" in navigator)) locationHere.hidden = true;
  locationHere.addEventListener("click", function () {
    setStatus("正在取得您的位置…");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var lat = Math.round(pos.coords.latitude * 1e6) / 1e6;
        var lng = Math.round(pos.coords.longitude * 1e6) / 1e6;
        closePanels();
        setStatus("");
        send({ location: { latitude: lat, longitude: lng } }, "📍 目前位置");
        input.focus();
      },
      function () {
        setStatus("無法取得目前位置，請改為輸入地址。");
        locationInput.focus();
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });

  function blobToBase64(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        resolve(String(reader.result).split(",", 2)[1] || "");
      };
      reader.onerror = reject;
      reader.readAsDataURL(blob);
    });
  }

  // A JPEG at most MAX_PHOTO_SIDE wide or high; the original when the browser cannot decode it.
  function shrink(file) {
    if (!window.createImageBitmap) return Promise.resolve(file);
    return window
      .createImageBitmap(file)
      .then(function (bitmap) {
        var scale = Math.min(1, MAX_PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
        if (scale === 1 && file.size <= 1024 * 1024) return file;
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) {
          canvas.toBlob(function (blob) {
            resolve(blob || file);
          }, "image/jpeg", 0.85);
        });
      })
      .catch(function () {
        return file;
      });
  }

  photoForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = photoInput.files && photoInput.files[0];
    if (!file) {
      setStatus("請先選擇一張照片。");
      photoInput.focus();
      return;
    }
    if (file.type && file.type.indexOf("image/") !== 0) {
      setStatus("這個檔案不是照片，請重新選擇。");
      return;
    }
    setStatus("正在準備照片…");
    shrink(file).then(function (blob) {
      if (blob.size > MAX_IMAGE_BYTES) {
        setStatus("照片太大了，請選擇 5 MB 以下的照片。");
        return;
      }
      return blobToBase64(blob).then(function (b64) {
        closePanels();
        send({ image: b64 }, null, URL.createObjectURL(blob));
        input.focus();
      });
    });
  });

  [locationForm, photoForm].forEach(function (panel) {
    panel.querySelector("[data-close]").addEventListener("click", function () {
      closePanels();
      input.focus();
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        closePanels();
        input.focus();
      }
    });
  });

  // --- start -------------------------------------------------------------------------------
  var saved = loadTranscript();
  if (saved.length) {
    var lastBot = null;
    saved.forEach(function (item) {
      if (item.who === "user") addUser(item.text);
      else if (item.who === "bot") {
        renderReply(item.reply);
        lastBot = item.reply;
      }
    });
    var lastItem = saved[saved.length - 1];
    if (lastItem.who === "bot" && lastBot) showChoices(lastBot.choices);
    poll();
  } else {
    send({ event: "follow" }, null); // the welcome
  }
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") poll();
  });
  input.focus();
})();
