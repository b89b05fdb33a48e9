/* cbassess: autosave behaviour on top of htmx. No inline script anywhere (strict CSP).
 *
 * - shows "Saving…" while a save is in flight, and "Not saved" with a Retry button when the
 *   network fails; the typed text always stays in the field;
 * - keeps a copy of unsaved text in this browser (localStorage) until the server has it, and
 *   restores it after a crash or a closed tab, then saves it. A copy belongs to one person
 *   (data-user on <body>) and to the version of the answer it was typed over: restored over
 *   a newer version it is saved as a conflict, never silently over someone's change. A saved
 *   answer, a conflict resolved with "take theirs" and signing out remove the copies;
 * - after a 401 (session expired) it retries when the person comes back to the tab, and after
 *   a refused CSRF token it takes the fresh token the server sent and retries once;
 * - shows save times in the reader's local time, written as the page's language writes them;
 * - takes every word it shows from the page (data-messages, rendered in the page's language).
 */
(function () {
  "use strict";
  var DRAFT_PREFIX = "cbassess:draft:";
  var unsaved = new Set();
  var messages = {};

  function message(name) { return messages[name] || name; }

  function sections() { return document.querySelectorAll("[data-autosave]"); }
  function statusOf(section) { return section.querySelector(".answer-status"); }
  function versionOf(section) {
    var input = section.querySelector("input[type=hidden][name$='-version']");
    return input ? input.value : "0";
  }
  // "cbassess:draft:u<user>:<assessment>:<indicator>:v" + the version it was typed over.
  function draftStem(section) {
    var user = document.body.getAttribute("data-user");
    return user ? DRAFT_PREFIX + "u" + user + ":" + section.getAttribute("data-autosave") + ":v" : null;
  }
  function storedKeys() {
    var keys = [];
    try { for (var i = 0; i < localStorage.length; i++) keys.push(localStorage.key(i)); } catch (e) {}
    return keys;
  }
  function draftsOf(section) {
    var stem = draftStem(section);
    return stem ? storedKeys().filter(function (key) { return key && key.indexOf(stem) === 0; }) : [];
  }
  function removeKeys(keys) { keys.forEach(function (key) { try { localStorage.removeItem(key); } catch (e) {} }); }

  function fieldsOf(section) {
    var values = {};
    section.querySelectorAll("input, textarea").forEach(function (el) {
      if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
      else if (el.name) { values[el.name] = el.value; }
    });
    return values;
  }

  function setStatus(section, cls, text, withRetry) {
    var status = statusOf(section);
    status.textContent = "";
    var span = document.createElement("span");
    span.className = "status " + cls;
    if (cls === "status--error") {
      // Announced at once, and not by colour alone: an icon and words, like the server's.
      span.setAttribute("role", "alert");
      var icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "\u2716 ";
      span.appendChild(icon);
    }
    span.appendChild(document.createTextNode(text));
    status.appendChild(span);
    if (withRetry) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button--small js-retry";
      button.textContent = message("retry");
      span.appendChild(document.createTextNode(" "));
      span.appendChild(button);
    }
  }

  // The server names the refused part of an answer in X-Field-Error ("level", "evidence",
  // "note"); mark that field invalid (its aria-describedby already points at the status).
  function markInvalid(section, field) {
    section.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    if (!field) return;
    section.querySelectorAll("[name$='-" + CSS.escape(field) + "']").forEach(function (el) {
      el.setAttribute("aria-invalid", "true");
    });
  }

  function saveDraft(section) {
    var stem = draftStem(section);
    if (!stem) return;
    var key = stem + versionOf(section);
    removeKeys(draftsOf(section).filter(function (other) { return other !== key; }));
    try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), fields: fieldsOf(section) })); }
    catch (e) { /* storage full or disabled: the server save still runs */ }
  }
  function clearDraft(section) { removeKeys(draftsOf(section)); }
  // Every draft in this browser, whoever typed it (sign-out, and copies kept by an older
  // version of this script, which did not record their author).
  function clearAllDrafts() {
    removeKeys(storedKeys().filter(function (key) { return key && key.indexOf(DRAFT_PREFIX) === 0; }));
  }
  function clearUnownedDrafts() {
    removeKeys(storedKeys().filter(function (key) {
      return key && key.indexOf(DRAFT_PREFIX) === 0 && key.indexOf(DRAFT_PREFIX + "u") !== 0;
    }));
  }

  function save(section) { htmx.trigger(section, "change"); }
  function retryAll() { unsaved.forEach(function (section) { if (document.body.contains(section)) save(section); }); }

  // The newest draft of a section typed over this version of the answer or an older one;
  // one typed over a version the server does not have is dropped.
  function draftFor(section) {
    var stem = draftStem(section), current = Number(versionOf(section)), best = null, stale = [];
    draftsOf(section).forEach(function (key) {
      var draft = null;
      try { draft = JSON.parse(localStorage.getItem(key)); } catch (e) { draft = null; }
      if (!draft || !draft.fields || Number(key.slice(stem.length)) > current) { stale.push(key); return; }
      if (!best || draft.at > best.at) best = draft;
    });
    removeKeys(stale);
    return best;
  }

  function restoreDrafts() {
    clearUnownedDrafts();
    sections().forEach(function (section) {
      var draft = draftFor(section);
      if (!draft) return;
      var current = fieldsOf(section), differs = false;
      Object.keys(draft.fields).forEach(function (name) {
        if (current[name] !== draft.fields[name]) differs = true;
      });
      if (!differs) { clearDraft(section); return; }
      Object.keys(draft.fields).forEach(function (name) {
        section.querySelectorAll("[name='" + CSS.escape(name) + "']").forEach(function (el) {
          if (el.type === "radio") el.checked = el.value === draft.fields[name];
          else el.value = draft.fields[name];
        });
      });
      setStatus(section, "status--saving", message("restored"));
      unsaved.add(section);
      save(section);
    });
  }

  document.addEventListener("input", function (event) {
    var section = event.target.closest("[data-autosave]");
    if (!section) return;
    unsaved.add(section);
    saveDraft(section);
    // Typing saves after a pause ("typed" is debounced in hx-trigger); a radio button saves
    // at once through its own change event, so it must not also start the typing timer.
    if (event.target.tagName === "TEXTAREA") htmx.trigger(section, "typed");
  });
  document.addEventListener("change", function (event) {
    var section = event.target.closest && event.target.closest("[data-autosave]");
    if (section) { unsaved.add(section); saveDraft(section); }
  });

  // Signing out removes every draft kept in this browser (the reply's Clear-Site-Data does
  // the same where the browser supports it).
  document.addEventListener("submit", function (event) {
    if (event.target.closest && event.target.closest(".js-sign-out")) clearAllDrafts();
  });

  // "Take theirs" loads the stored answer in place of the section, and the text that lost
  // the conflict must not come back from the browser's copy on the next page load. Clicking
  // it takes the focus from the field, whose change event sends one more save of that text;
  // that save is dropped (its reply would remove this link and, with it, the request).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".js-take-theirs");
    var section = link && link.closest("[data-autosave]");
    if (!section || !window.htmx) return;
    event.preventDefault();
    event.stopPropagation();
    clearDraft(section);
    unsaved.delete(section);
    htmx.trigger(section, "htmx:abort");
    htmx.ajax("GET", link.getAttribute("href"), { source: link, target: "#" + section.id, swap: "outerHTML" });
  }, true);

  document.addEventListener("click", function (event) {
    var section = event.target.closest("[data-autosave]");
    if (!section) return;
    var keep = event.target.closest(".js-keep-mine");
    if (keep) {
      event.preventDefault();
      // Saving over a newer answer is a deliberate choice: only this button sends its version.
      section.querySelector("input[type=hidden][name$='-version']").value = keep.getAttribute("data-version");
      save(section);
    } else if (event.target.closest(".js-retry")) {
      save(section);
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var section = event.detail.elt;
    if (section.hasAttribute && section.hasAttribute("data-autosave") && event.detail.requestConfig.verb === "post") {
      // The same values the server has just refused as a conflict (sent again when the
      // field loses focus on the way to "Keep mine" or "Take theirs"): not sent, so that
      // the choice offered stays where it is.
      if (section.dataset.refused && section.dataset.refused === JSON.stringify(fieldsOf(section))) {
        event.preventDefault();
        return;
      }
      setStatus(section, "status--saving", message("saving"));
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var section = event.detail.elt;
    if (!section.hasAttribute || !section.hasAttribute("data-autosave")) return;
    if (event.detail.requestConfig.verb !== "post") return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status) markInvalid(section, xhr.getResponseHeader("X-Field-Error"));
    if (xhr && xhr.status === 409) section.dataset.refused = JSON.stringify(fieldsOf(section));
    else delete section.dataset.refused;
    if (event.detail.successful) {
      unsaved.delete(section);
      clearDraft(section);
      localiseTimes(section);
      return;
    }
    if (xhr && xhr.status === 400 && xhr.getResponseHeader("X-CSRF-Token") && !section.dataset.csrfRetried) {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      headers["X-CSRFToken"] = xhr.getResponseHeader("X-CSRF-Token");
      document.body.setAttribute("hx-headers", JSON.stringify(headers));
      section.dataset.csrfRetried = "1";
      save(section);
      return;
    }
    delete section.dataset.csrfRetried;
    // A refusal the server decided (invalid, conflict, submitted) is not retried by itself;
    // an expired session (401) is, once the person is back.
    if (xhr && xhr.status !== 401) unsaved.delete(section);
  });

  // Confirming a carried-over answer removes its button: the focus moves on to the next
  // answer still to confirm (else to the indicator's status), so that confirming a run of
  // answers from the keyboard is one keystroke (Enter) each.
  var confirming = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var button = event.detail.elt;
    if (!button.classList || !button.classList.contains("js-confirm")) return;
    var all = Array.prototype.slice.call(document.querySelectorAll(".js-confirm"));
    confirming = { button: button, next: all[all.indexOf(button) + 1] || null,
                   status: document.querySelector(button.getAttribute("hx-target")) };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!confirming || confirming.button.isConnected) return;
    var next = confirming.next && confirming.next.isConnected ? confirming.next : document.querySelector(".js-confirm");
    var status = confirming.status;
    confirming = null;
    if (next) { next.focus(); return; }
    if (status) { status.setAttribute("tabindex", "-1"); status.focus(); }
  });

  // Saves of different indicators run side by side, so their replies can arrive out of
  // order: keep the progress and stepper from the reply that saw the most edits.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var current = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!current || !incoming || !current.hasAttribute("data-edits") || !incoming.hasAttribute("data-edits")) return;
    if (Number(incoming.getAttribute("data-edits")) < Number(current.getAttribute("data-edits"))) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    var section = event.detail.elt;
    if (!section.hasAttribute || !section.hasAttribute("data-autosave")) return;
    unsaved.add(section);
    setStatus(section, "status--error", message("offline"), true);
  });
  document.addEventListener("htmx:timeout", function (event) {
    var section = event.detail.elt;
    if (section.hasAttribute && section.hasAttribute("data-autosave")) {
      unsaved.add(section);
      setStatus(section, "status--error", message("timeout"), true);
    }
  });

  window.addEventListener("online", retryAll);
  window.addEventListener("focus", retryAll);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) retryAll(); });
  window.addEventListener("beforeunload", function (event) {
    if (unsaved.size) { event.preventDefault(); event.returnValue = ""; }
  });

  function localiseTimes(root) {
    (root || document).querySelectorAll(".status--saved time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) el.textContent = when.toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    try { messages = JSON.parse(document.body.getAttribute("data-messages") || "{}"); } catch (e) { messages = {}; }
    if (window.htmx) htmx.config.timeout = 20000;
    localiseTimes(document);
    restoreDrafts();
    // The stepper scrolls on its own beside the page: bring the current principle into it,
    // without moving the page itself.
    var side = document.querySelector(".walk__side");
    var current = side && side.querySelector(".stepper__item--current");
    if (current && side.scrollHeight > side.clientHeight) {
      var offset = current.getBoundingClientRect().top - side.getBoundingClientRect().top;
      side.scrollTop += offset - side.clientHeight / 2;
    }
  });
})();
