// Kabinet console: small progressive enhancement. Every page works without it.
(function () {
  "use strict";

  // Search as you type: the filter form re-renders only the results block.
  document.querySelectorAll("form[data-live-search]").forEach(function (form) {
    var target = document.querySelector(form.getAttribute("data-live-search"));
    if (!target) return;
    var timer = null;
    var generation = 0;
    function refresh() {
      var params = new URLSearchParams(new FormData(form));
      var query = params.toString();
      var mine = ++generation;
      params.set("partial", "1");
      fetch(form.action + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          if (mine !== generation) return; // a later keystroke won
          target.innerHTML = html;
          history.replaceState(null, "", form.action + (query ? "?" + query : ""));
        })
        .catch(function () { /* keep the last good results */ });
    }
    form.addEventListener("input", function (event) {
      if (event.target.name !== "q") return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") refresh();
    });
  });

  // Confirmation for small destructive actions that have no page of their own.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // Copy a shown secret.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (navigator.clipboard) navigator.clipboard.writeText(button.getAttribute("data-copy"));
    });
  });

  // A one-time link carries its secret in the fragment (never sent to the
  // server): move it into the form and out of the address bar.
  document.querySelectorAll("form[data-token-from-fragment]").forEach(function (form) {
    var secret = window.location.hash.replace(/^#/, "");
    var input = form.querySelector("input[name=token]");
    if (secret && input) {
      input.value = secret;
      history.replaceState(null, "", window.location.pathname);
    }
  });

  // Avatar upload: the picture goes to the API with the session's CSRF
  // token; the server checks it and answers with a reason when it refuses.
  document.querySelectorAll("input[data-avatar-upload]").forEach(function (input) {
    var status = input.closest("section").querySelector("[data-avatar-status]");
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      fetch(input.getAttribute("data-avatar-upload"), {
        method: "PUT",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": input.getAttribute("data-csrf") },
        body: file
      }).then(function (response) {
        if (response.ok) { window.location.reload(); return; }
        return response.json().then(function (problem) {
          var first = problem.errors && problem.errors[0];
          if (status) status.textContent = first ? first.message : problem.title;
        });
      }).catch(function () { if (status) status.textContent = "…"; });
    });
  });

  // The side menu folds away on narrow screens.
  var toggle = document.querySelector("[data-menu-toggle]");
  var nav = document.getElementById("sidenav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
