/* Progressive enhancement only: every page works without this file (UX.md §4).
   - the password's 显示/隐藏 toggle;
   - an earlier date typed picks the "earlier" choice;
   - the error summary takes the focus;
   - a form shows 正在提交… and cannot be sent twice by a double tap;
   - the whistle report keeps a draft on this phone (localStorage) and says so when the
     network fails instead of losing what was typed. */
(function () {
  "use strict";

  document.querySelectorAll("[data-reveal]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-reveal"));
    if (!input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = button.getAttribute(show ? "data-hide" : "data-show");
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
  });

  document.querySelectorAll("input[data-picks]").forEach(function (input) {
    input.addEventListener("input", function () {
      var name = input.name.replace(/-other$/, "");
      var radio = input.form && input.form.querySelector('input[type=radio][name="' + name + '"][value="other"]');
      if (radio && input.value) { radio.checked = true; }
    });
  });

  var summary = document.querySelector("[data-focus]");
  if (summary) { summary.focus(); }

  document.querySelectorAll("input.file-input").forEach(function (input) {
    input.addEventListener("change", function () {
      var out = input.form && input.form.querySelector("[data-chosen]");
      if (!out) { return; }
      var names = [];
      input.form.querySelectorAll("input.file-input").forEach(function (i) {
        for (var k = 0; k < i.files.length; k++) { names.push(i.files[k].name); }
      });
      out.textContent = names.join("、");
    });
  });

  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sending") === "1") { event.preventDefault(); return; }
      var button = event.submitter;
      if (button && button.getAttribute("data-busy")) {
        form.setAttribute("data-sending", "1");
        button.setAttribute("aria-busy", "true");
        button.setAttribute("data-label", button.textContent);
        button.textContent = button.getAttribute("data-busy");
        window.setTimeout(function () {  /* the page did not change: let them try again */
          form.removeAttribute("data-sending");
          button.removeAttribute("aria-busy");
          button.textContent = button.getAttribute("data-label");
        }, 15000);
      }
    });
  });

  var draft = document.querySelector("form[data-draft]");
  if (draft && window.localStorage) {
    var key = "mediation-draft-" + draft.getAttribute("data-draft");
    var fields = function () {
      return Array.prototype.filter.call(draft.elements, function (el) {
        return el.name && el.name !== "csrf_token" && el.type !== "file" && el.type !== "hidden" && el.type !== "submit";
      });
    };
    var save = function () {
      var data = {};
      fields().forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") { if (el.checked) { data[el.name] = el.value; } }
        else { data[el.name] = el.value; }
      });
      try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* full or private mode */ }
    };
    var hasErrors = !!document.querySelector("[data-focus]");
    var stored = null;
    try { stored = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { stored = null; }
    if (stored && !hasErrors) {
      fields().forEach(function (el) {
        if (!(el.name in stored)) { return; }
        if (el.type === "radio" || el.type === "checkbox") { el.checked = stored[el.name] === el.value; }
        else if (!el.value) { el.value = stored[el.name]; }
      });
    }
    draft.addEventListener("input", save);
    draft.addEventListener("change", save);
    window.addEventListener("offline", function () {
      var note = draft.querySelector("[data-offline]");
      if (note) { note.hidden = false; }
    });
    draft.addEventListener("submit", function (event) {
      save();
      if (navigator.onLine === false) {
        event.preventDefault();
        var note = draft.querySelector("[data-offline]");
        if (note) { note.hidden = false; note.focus && note.focus(); }
        draft.removeAttribute("data-sending");
        var busy = draft.querySelector("[aria-busy=true]");
        if (busy) { busy.removeAttribute("aria-busy"); busy.textContent = busy.getAttribute("data-label"); }
      }
    });
  }
  /* The report was received: its page carries no draft form; forget the draft. */
  if (document.querySelector("[data-report-done]") && window.localStorage) {
    try { localStorage.removeItem("mediation-draft-report"); } catch (e) { /* ignore */ }
  }
})();
