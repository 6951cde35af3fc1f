/* Story Wall — the "Share your story" form and the thanks page.
 * Progressive enhancement only: without this file the form posts as plain
 * multipart and the server answers with a redirect (or the form again).
 * With it: ?initiative=<slug> pre-selects, counters, photo previews,
 * photos downscaled in the browser (canvas → JPEG, long edge ≤ 2048 px),
 * a video over the size or length limit refused before it is sent (its
 * length read from a <video> element's metadata), upload progress, and
 * errors shown beside each field. No third-party code.
 */
(function () {
  "use strict";

  var MAX_EDGE = 2048;            // px: long edge of a downscaled photo
  var DOWNSCALE_OVER = 1.5e6;     // bytes: smaller files are sent as they are
  var JPEG_QUALITY = 0.85;
  var METADATA_TIMEOUT = 8000;    // ms: a video whose length the browser cannot read is left to the server
  var PHOTO_INPUTS = 'input[type="file"][name^="photo_"]';

  function params() {
    var out = {};
    (window.location.search || "").replace(/^\?/, "").split("&").forEach(function (pair) {
      if (!pair) return;
      var kv = pair.split("=");
      try { out[decodeURIComponent(kv[0])] = decodeURIComponent((kv[1] || "").replace(/\+/g, " ")); }
      catch (e) { /* ignore a malformed pair */ }
    });
    return out;
  }

  /* --- thanks page ------------------------------------------------------ */

  function thanksPage() {
    var q = params();
    var ref = document.getElementById("thanks-reference");
    if (ref && /^\d{4}-\d{2}-\d{2}-[a-z0-9]{6,12}$/.test(q.id || "")) {
      document.getElementById("thanks-id").textContent = q.id;
      ref.hidden = false;
    }
    var sections = document.querySelectorAll(".thanks-initiative");
    var chosen = null;
    Array.prototype.forEach.call(sections, function (s) {
      if (s.getAttribute("data-initiative") === q.initiative) chosen = s;
    });
    if (!chosen) return;
    Array.prototype.forEach.call(sections, function (s) { s.hidden = s !== chosen; });
    var heading = document.getElementById("thanks-faq-heading");
    if (heading) heading.textContent = "Questions about " + chosen.querySelector("h3").textContent;
  }

  /* --- the form ----------------------------------------------------------- */

  function fieldFor(name) { return document.getElementById("field-" + name); }

  function setError(form, name, message) {
    var el = document.getElementById("error-" + name);
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (el) { el.textContent = message || ""; el.hidden = !message; }
    Array.prototype.forEach.call(inputs, function (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (el) {
      setError(form, el.id.replace(/^error-/, ""), "");
    });
  }

  function showSummary(title, fields) {
    var box = document.getElementById("form-status");
    box.textContent = "";
    var wrap = document.createElement("div");
    wrap.className = "error-summary";
    var h = document.createElement("h2");
    h.textContent = title;
    wrap.appendChild(h);
    var names = Object.keys(fields || {});
    if (names.length) {
      var ul = document.createElement("ul");
      names.forEach(function (name) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        var target = fieldFor(name) ? "field-" + name : "share-form";
        a.href = "#" + target;
        a.textContent = fields[name];
        li.appendChild(a);
        ul.appendChild(li);
      });
      wrap.appendChild(ul);
    }
    box.appendChild(wrap);
    box.focus();
  }

  function counters(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-counter-for]"), function (out) {
      var input = document.getElementById(out.getAttribute("data-counter-for"));
      var limit = parseInt(out.getAttribute("data-limit"), 10);
      if (!input) return;
      function update() {
        var n = input.value.length;
        out.textContent = n + " of " + limit + " characters";
        out.classList.toggle("counter-near", n > limit * 0.9);
      }
      input.addEventListener("input", update);
      out.hidden = false;
      update();
    });
  }

  function kindToggle(form) {
    var rating = form.querySelector('[data-for-kind="review"]');
    function update() {
      var checked = form.querySelector('input[name="kind"]:checked');
      if (rating) rating.hidden = !checked || checked.value !== "review";
    }
    Array.prototype.forEach.call(form.querySelectorAll('input[name="kind"]'), function (r) {
      r.addEventListener("change", update);
    });
    update();
  }

  function previews(form) {
    Array.prototype.forEach.call(form.querySelectorAll(PHOTO_INPUTS), function (input) {
      var slot = input.name.replace(/^photo_/, "");
      var box = document.getElementById("preview-" + slot);
      var alt = fieldFor("alt_" + slot);
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        box.textContent = "";
        box.hidden = !file;
        if (alt) alt.required = !!file;
        if (!file) return;
        var img = document.createElement("img");
        img.alt = "Preview of photo " + slot;
        img.src = URL.createObjectURL(file);
        img.onload = function () { URL.revokeObjectURL(img.src); };
        img.onerror = function () { img.remove(); };
        var p = document.createElement("p");
        p.textContent = file.name + " (" + (file.size / 1048576).toFixed(1) + " MB)";
        box.appendChild(img);
        box.appendChild(p);
      });
    });
  }

  /* --- the video: size and length checked before sending ----------------- */

  function mb(bytes) { return Math.round(bytes / 1048576) + " MB"; }

  function duration(file) {
    // Resolves to the length in seconds, or null when this browser cannot read it (e.g. HEVC).
    return new Promise(function (resolve) {
      if (!window.URL || !URL.createObjectURL) { resolve(null); return; }
      var el = document.createElement("video");
      var url = URL.createObjectURL(file);
      var timer = setTimeout(function () { finish(null); }, METADATA_TIMEOUT);
      function finish(value) {
        clearTimeout(timer);
        el.removeAttribute("src");
        URL.revokeObjectURL(url);
        resolve(value);
      }
      el.preload = "metadata";
      el.muted = true;
      el.onloadedmetadata = function () { finish(isFinite(el.duration) ? el.duration : null); };
      el.onerror = function () { finish(null); };
      el.src = url;
    });
  }

  function videoProblem(input) {
    // Resolves to a message for the supporter, or "" when the video may be sent.
    var file = input.files && input.files[0];
    if (!file) return Promise.resolve("");
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxSeconds = parseInt(input.getAttribute("data-max-seconds"), 10);
    if (maxBytes && file.size > maxBytes) {
      return Promise.resolve("Video: the file is " + mb(file.size) + ", over the " + mb(maxBytes) +
                             " limit. Choose a shorter video, or trim it on your phone first.");
    }
    return duration(file).then(function (seconds) {
      if (seconds !== null && maxSeconds && seconds > maxSeconds + 0.5) {
        return "Video: it is " + Math.round(seconds) + " seconds long, over the " + maxSeconds +
               "-second limit. Trim it on your phone first, or choose a shorter one.";
      }
      return "";
    });
  }

  function videoField(form) {
    var input = fieldFor("video");
    if (!input) return function () { return Promise.resolve(""); };
    var transcript = fieldFor("transcript");
    var info = document.getElementById("video-info");
    var pending = Promise.resolve("");
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (transcript) transcript.required = !!file;
      info.hidden = !file;
      info.textContent = file ? file.name + " (" + (file.size / 1048576).toFixed(1) + " MB)" : "";
      pending = videoProblem(input);
      pending.then(function (message) { setError(form, "video", message); });
    });
    return function () { return pending; };
  }

  function downscale(file) {
    return new Promise(function (resolve) {
      if (!file || file.size < DOWNSCALE_OVER || !window.createImageBitmap ||
          !HTMLCanvasElement.prototype.toBlob) { resolve(file); return; }
      createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size ? blob : file);
        }, "image/jpeg", JPEG_QUALITY);
      }, function () { resolve(file); });   // e.g. HEIC the browser cannot draw: send as is
    });
  }

  function send(form, data) {
    var button = form.querySelector('button[type="submit"]');
    var upload = document.getElementById("upload");
    var bar = document.getElementById("upload-progress");
    var percent = document.getElementById("upload-percent");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var p = Math.round(100 * e.loaded / e.total);
      bar.value = p; bar.textContent = p + "%"; percent.textContent = p + "%";
    };
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.thanks_url) {
        window.location.assign(body.thanks_url);
        return;
      }
      done();
      var err = (body && body.error) || {};
      var fields = err.fields || {};
      Object.keys(fields).forEach(function (name) { setError(form, name, fields[name]); });
      showSummary(err.message || "Your story could not be sent (error " + xhr.status + "). " +
                  "It is still here: please try again.", fields);
    };
    xhr.onerror = xhr.ontimeout = function () {
      done();
      showSummary("Your story could not be sent: check your connection and try again. " +
                  "What you wrote is still here.", {});
    };
    function done() {
      button.disabled = false;
      form.removeAttribute("aria-busy");
      upload.hidden = true;
    }
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    bar.value = 0; percent.textContent = "0%";
    upload.hidden = false;
    xhr.send(data);
  }

  function enhance(form) {
    var q = params();
    var select = fieldFor("initiative");
    if (select && q.initiative) {
      Array.prototype.forEach.call(select.options, function (o) {
        if (o.value === q.initiative) select.value = q.initiative;
      });
    }
    var invite = form.querySelector('input[name="invite"]');
    if (invite && q.invite && /^[A-Za-z0-9_-]{16,64}$/.test(q.invite)) invite.value = q.invite;
    counters(form);
    kindToggle(form);
    previews(form);
    var videoChecked = videoField(form);
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.Promise || !window.XMLHttpRequest) return;  // plain post
      event.preventDefault();
      clearErrors(form);
      videoChecked().then(function (problem) {
        if (problem) {
          setError(form, "video", problem);
          showSummary("Your story was not sent: the video is too large or too long.",
                      {video: problem});
          return;
        }
        var data = new FormData(form);
        var inputs = Array.prototype.slice.call(form.querySelectorAll(PHOTO_INPUTS));
        Promise.all(inputs.map(function (input) {
          var file = input.files && input.files[0];
          return downscale(file).then(function (out) {
            if (file && out !== file) {
              data.set(input.name, out, file.name.replace(/\.[^.]*$/, "") + ".jpg");
            }
          });
        })).then(function () { send(form, data); });
      });
    });
  }

  function start() {
    var form = document.getElementById("share-form");
    if (form) enhance(form);
    if (document.querySelector(".thanks-page")) thanksPage();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
