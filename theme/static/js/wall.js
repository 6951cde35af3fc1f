/* Story Wall: a few lines of our own JavaScript on top of pages that work without it.
   - instant filtering of the wall by initiative (the links still work without JS);
   - full-text search with Pagefind (served from this site, no third party);
   - copy-link and the Web Share API on story pages. */
(function () {
  "use strict";

  function filters() {
    var nav = document.querySelector(".filters");
    if (!nav) return;
    var links = nav.querySelectorAll("a[data-filter]");
    var cards = document.querySelectorAll(".wall .card[data-initiative]");
    var status = nav.querySelector("[data-filter-status]");
    nav.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-filter]");
      if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      var slug = link.getAttribute("data-filter");
      var shown = 0;
      cards.forEach(function (card) {
        var match = !slug || card.getAttribute("data-initiative") === slug;
        card.hidden = !match;
        if (match) shown += 1;
      });
      links.forEach(function (other) {
        if (other === link) other.setAttribute("aria-current", "page");
        else other.removeAttribute("aria-current");
      });
      if (status) {
        status.textContent = slug
          ? shown + " on this page. "
          : "";
        if (slug) {
          var all = document.createElement("a");
          all.href = link.href;
          all.textContent = "See every story about " + link.textContent;
          status.appendChild(all);
        }
      }
    });
  }

  function search() {
    var form = document.querySelector("[data-search]");
    if (!form || !window.fetch) return;
    var input = form.querySelector("input");
    var list = form.querySelector("[data-search-results]");
    var status = form.querySelector("[role=status]");
    var root = form.getAttribute("action").replace(/\/$/, "");
    var pagefind = null;
    form.hidden = false;
    function load() {
      if (!pagefind) pagefind = import(root + "/pagefind/pagefind.js");
      return pagefind;
    }
    async function run() {
      var query = input.value.trim();
      list.textContent = "";
      if (!query) { status.textContent = ""; return; }
      var engine = await load();
      var found = await engine.search(query);
      var items = await Promise.all(found.results.slice(0, 10).map(function (r) { return r.data(); }));
      if (input.value.trim() !== query) return;
      status.textContent = found.results.length + (found.results.length === 1 ? " story" : " stories") + " found";
      items.forEach(function (item) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = item.url;
        a.textContent = item.meta.title || item.url;
        var p = document.createElement("p");
        p.innerHTML = item.excerpt; /* Pagefind's excerpt: escaped text with <mark> */
        li.appendChild(a);
        li.appendChild(p);
        list.appendChild(li);
      });
    }
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 200);
    });
    input.addEventListener("focus", load, { once: true });
    form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  }

  function share() {
    var box = document.querySelector("[data-share-url]");
    if (!box) return;
    var url = box.getAttribute("data-share-url");
    var title = box.getAttribute("data-share-title");
    var status = box.querySelector("[data-share-status]");
    var copy = box.querySelector("[data-copy-link]");
    var native = box.querySelector("[data-web-share]");
    copy.addEventListener("click", function () {
      var done = function () { status.textContent = "Link copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(done, fallback);
      } else {
        fallback();
      }
      function fallback() {
        var field = document.createElement("textarea");
        field.value = url;
        field.setAttribute("readonly", "");
        field.className = "visually-hidden";
        document.body.appendChild(field);
        field.select();
        var ok = document.execCommand && document.execCommand("copy");
        document.body.removeChild(field);
        status.textContent = ok ? "Link copied." : "Copy this link: " + url;
      }
    });
    if (navigator.share) {
      native.hidden = false;
      native.addEventListener("click", function () {
        navigator.share({ title: title, url: url }).catch(function () {});
      });
    }
  }

  filters();
  search();
  share();
})();
