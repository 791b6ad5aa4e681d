// Alcance: nothing typed is lost. A form marked data-draft keeps what is typed in this browser's storage
// (one draft per user and form), fills the form in again after a reload, sends it in the background and
// keeps the draft when the connection drops, offering to send it when the connection is back. The draft
// is removed once the server has saved the form, and every draft is removed at sign-out.
// Without this script the forms are plain forms that post as usual.
(function () {
  "use strict";
  var PREFIX = "alcance:draft:";

  function storage() {
    try { return window.localStorage; } catch (error) { return null; }
  }

  function removeAllDrafts() {
    var store = storage();
    if (!store) return;
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) store.removeItem(key);
    }
  }

  // Sign-out ends every draft kept on this device, whoever wrote it.
  document.querySelectorAll("form.sign-out").forEach(function (form) {
    form.addEventListener("submit", removeAllDrafts);
  });

  var store = storage();
  if (!store || !window.fetch || !window.FormData) return;

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      // data-draft-skip: a field too sensitive to leave on the phone (a meeting's confidential notes).
      return el.name && el.name !== "csrf_token" && el.type !== "file" && el.type !== "submit" &&
        el.type !== "button" && !el.hasAttribute("data-draft-skip");
    });
  }

  function snapshot(form) {
    var values = [];
    fields(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) values.push([el.name, el.value]);
      } else if (el.type !== "search") {
        values.push([el.name, el.value]);
      }
    });
    return values;
  }

  function restore(form, values) {
    var given = {};
    values.forEach(function (pair) { (given[pair[0]] = given[pair[0]] || []).push(pair[1]); });
    fields(form).forEach(function (el) {
      if (!(el.name in given)) {
        if (el.type === "checkbox") el.checked = false;
        return;
      }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = given[el.name].indexOf(el.value) !== -1;
      } else if (el.type !== "search") {
        el.value = given[el.name][0];
      }
    });
    // A folded part holding restored text is opened, so the user sees what will be sent.
    form.querySelectorAll("details").forEach(function (details) {
      var filled = Array.prototype.some.call(details.querySelectorAll("input[type=text], textarea"), function (el) {
        return el.value.trim() !== "";
      });
      if (filled) details.open = true;
    });
  }

  function replaceDocument(html, url) {
    document.open();
    document.write(html);
    document.close();
    if (url) window.history.replaceState(null, "", url);
  }

  document.querySelectorAll("form[data-draft][data-draft-owner]").forEach(function (form) {
    var key = PREFIX + form.getAttribute("data-draft-owner") + ":" + form.getAttribute("data-draft");
    var texts = form.querySelector(".draft-texts") || document.createElement("div");
    var notice = document.createElement("div");
    notice.className = "draft-notice";
    notice.setAttribute("role", "status");
    notice.hidden = true;
    form.insertBefore(notice, form.firstChild);

    function text(name) { return texts.getAttribute("data-" + name) || ""; }

    function save() {
      store.setItem(key, JSON.stringify({savedAt: new Date().toISOString(), values: snapshot(form)}));
    }

    function say(message, offerSending) {
      notice.textContent = "";
      var p = document.createElement("p");
      p.textContent = message;
      notice.appendChild(p);
      if (offerSending) {
        var send = document.createElement("button");
        send.type = "button";
        send.className = "primary";
        send.textContent = text("send");
        send.addEventListener("click", function () { submit(); });
        var discard = document.createElement("button");
        discard.type = "button";
        discard.textContent = text("discard");
        discard.addEventListener("click", function () {
          store.removeItem(key);
          window.location.reload();
        });
        notice.appendChild(send);
        notice.appendChild(discard);
      }
      notice.hidden = false;
    }

    function saved(doc, redirected) {
      var keyField = form.querySelector("input[name=submission_key]");
      if (keyField && keyField.value) {
        // The server names the key of the form it saved: nothing else counts as saved.
        return Boolean(doc.querySelector('[data-saved-key="' + keyField.value + '"]'));
      }
      return redirected && Boolean(doc.querySelector(".flash-success"));
    }

    var sending = false;
    function submit() {
      if (sending) return;
      sending = true;
      save();
      say(text("sending"), false);
      fetch(form.getAttribute("action") || window.location.href, {
        method: "POST", body: new FormData(form), credentials: "same-origin"
      }).then(function (response) {
        return response.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          if (saved(doc, response.redirected)) store.removeItem(key);
          // The server's answer is shown as it would be without this script: the saved record, the
          // form with its errors, or the sign-in page. The draft stays unless the form was saved.
          replaceDocument(html, response.url);
        });
      }).catch(function () {
        sending = false;
        say(navigator.onLine === false ? text("offline") : text("failed"), true);
      });
    }

    var kept = null;
    try { kept = JSON.parse(store.getItem(key) || "null"); } catch (error) { kept = null; }
    var answeredWithErrors = Boolean(form.querySelector(".error"));
    if (kept && kept.values && !answeredWithErrors) {
      restore(form, kept.values);
      var when = new Date(kept.savedAt);
      say(text("restored").replace("{time}", when.toLocaleString(document.documentElement.lang || undefined)), true);
    }

    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit();
    });
    window.addEventListener("online", function () {
      if (store.getItem(key) && !notice.hidden) say(text("online"), true);
    });
  });
})();
