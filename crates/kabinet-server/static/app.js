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

  // Passkeys (WebAuthn). Binary fields travel as base64url without padding.
  function fromB64url(text) {
    var base = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base.length % 4) base += "=";
    var raw = atob(base);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }
  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function postJson(url, body, csrf) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) return Promise.reject(new Error(data.title || data.detail || String(response.status)));
          return data;
        });
      });
  }
  function showError(holder, element, error) {
    var box = holder.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
    if (!box) return;
    box.textContent = (element.getAttribute("data-failed") || "") + (error && error.message ? error.message : error);
    box.hidden = false;
  }

  document.querySelectorAll("form[data-passkey-register]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential) { showError(form, form, form.getAttribute("data-unsupported")); return; }
      var csrf = form.getAttribute("data-csrf");
      var data = new FormData(form);
      postJson("/api/v1/me/passkeys/options", { password: data.get("password") }, csrf)
        .then(function (begun) {
          var options = begun.public_key;
          options.challenge = fromB64url(options.challenge);
          options.user.id = fromB64url(options.user.id);
          options.excludeCredentials = (options.excludeCredentials || []).map(function (c) {
            return { type: c.type, id: fromB64url(c.id) };
          });
          return navigator.credentials.create({ publicKey: options }).then(function (credential) {
            return postJson("/api/v1/me/passkeys", {
              ceremony_id: begun.ceremony_id,
              name: data.get("name"),
              client_data_json: toB64url(credential.response.clientDataJSON),
              attestation_object: toB64url(credential.response.attestationObject)
            }, csrf);
          });
        })
        .then(function () { window.location.assign("/me/security?flash=passkey.added"); })
        .catch(function (error) { showError(form, form, error); });
    });
  });

  document.querySelectorAll("[data-passkey-sign-in]").forEach(function (button) {
    button.addEventListener("click", function () {
      var holder = button.closest("form") || document;
      if (!window.PublicKeyCredential) { showError(holder, button, button.getAttribute("data-unsupported")); return; }
      postJson("/api/v1/auth/passkey/options", {})
        .then(function (begun) {
          var options = begun.public_key;
          options.challenge = fromB64url(options.challenge);
          options.allowCredentials = [];
          return navigator.credentials.get({ publicKey: options }).then(function (credential) {
            var response = credential.response;
            return postJson("/api/v1/auth/passkey", {
              ceremony_id: begun.ceremony_id,
              credential_id: toB64url(credential.rawId),
              client_data_json: toB64url(response.clientDataJSON),
              authenticator_data: toB64url(response.authenticatorData),
              signature: toB64url(response.signature),
              user_handle: response.userHandle ? toB64url(response.userHandle) : null
            });
          });
        })
        .then(function () { window.location.assign(button.getAttribute("data-next") || "/"); })
        .catch(function (error) { showError(holder, button, error); });
    });
  });

  // A select that applies itself when changed (no inline handlers: the CSP
  // allows scripts from this file only).
  document.querySelectorAll("select[data-auto-submit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
