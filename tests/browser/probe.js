// Injected by headless.py right after <head> of every page it serves (see PROBE_JS there).
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    if (e && e.message) errors.push(String(e.message).slice(0, 300));
  });
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection: ' + String(e && e.reason).slice(0, 300));
  });
  function measure() {
    if (!document.body) return;  // still parsing <head>
    var root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    var imgs = Array.prototype.slice.call(root.querySelectorAll('img')).map(function (img) {
      return {src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0,
              w: img.naturalWidth, h: img.naturalHeight};
    });
    var views = Array.prototype.slice.call(
      document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
    var rendered = views.filter(function (s) {
      return s.parentElement && s.parentElement.querySelector('.widget-subarea .jupyter-widgets');
    }).length;
    var maths = Array.prototype.slice.call(root.querySelectorAll('.math'));
    var mathRaw = maths.filter(function (m) { return !m.querySelector('mjx-container') && !m.closest('mjx-container'); }).length;
    var external = [];
    var seen = {};
    function note(u) {
      if (!u) return;
      try { var url = new URL(u, location.href); } catch (err) { return; }
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.host !== location.host && !seen[url.href]) {
        seen[url.href] = 1; external.push(url.href);
      }
    }
    performance.getEntriesByType('resource').forEach(function (r) { note(r.name); });
    document.querySelectorAll('script[src], img[src], iframe[src]').forEach(function (e) { note(e.getAttribute('src')); });
    document.querySelectorAll('link[rel="stylesheet"][href]').forEach(function (e) { note(e.getAttribute('href')); });
    // Horizontal overflow: the page wider than the window, or an element of the article reaching past
    // the article's right edge without a box of its own that scrolls sideways (cut or run off the page).
    var overflowing = [];
    var art = document.querySelector('article.bd-article');
    if (art) {
      var edge = art.getBoundingClientRect().right + 1;
      var all = art.querySelectorAll('*');
      for (var i = 0; i < all.length && overflowing.length < 10; i++) {
        var el = all[i], r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= edge) continue;
        var p = el.parentElement, boxed = false;
        while (p && p !== art) {
          var ox = getComputedStyle(p).overflowX;
          if ((ox === 'auto' || ox === 'scroll') && p.getBoundingClientRect().right <= edge) { boxed = true; break; }
          p = p.parentElement;
        }
        if (!boxed && !(el.parentElement && overflowing.indexOf(el.parentElement.__bcDesc) >= 0)) {
          el.__bcDesc = el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
              ? '.' + String(el.className).trim().split(/\s+/).slice(0, 2).join('.') : '')
              + ' (' + Math.round(r.right - edge) + ' px)';
          overflowing.push(el.__bcDesc);
        }
      }
    }
    // Equations must fit: a display equation in a sideways-scrolling box is cut for a reader.
    var mathWide = Array.prototype.slice.call(root.querySelectorAll('div.math, mjx-container[display="true"]'))
      .filter(function (m) { return m.scrollWidth > m.clientWidth + 1 ||
        (art && m.getBoundingClientRect().right > art.getBoundingClientRect().right + 1); }).length;
    // Figures drawn much wider than the column are shrunk, and their labels with them.
    var squeezed = imgs.length ? Array.prototype.slice.call(root.querySelectorAll('img')).filter(function (img) {
      return img.naturalWidth > 0 && img.clientWidth > 0 && img.clientWidth < 0.75 * img.naturalWidth; }).length : 0;
    // Click check (URL fragment #book-check-click): once every widget rendered, click the first
    // inactive toggle button of the article and record the visible images before and a second after.
    if (location.hash.indexOf('book-check-click') >= 0 && views.length && rendered === views.length) {
      var visibleImgs = function () {
        return Array.prototype.slice.call(root.querySelectorAll('.jupyter-widgets img')).filter(function (i) {
          return i.offsetParent !== null && i.getClientRects().length; }).map(function (i) { return i.src; });
      };
      if (!window.__bcClick) {
        var btn = root.querySelector('.widget-toggle-buttons button:not(.mod-active)');
        window.__bcClick = {target: btn ? btn.textContent.trim() : null, before: visibleImgs(), after: null};
        if (btn) { btn.click(); setTimeout(function () { window.__bcClick.after = visibleImgs(); }, 1000); }
      }
    }
    var report = {
      click: window.__bcClick || null,
      mathWide: mathWide, imagesSqueezed: squeezed,
      pageOverflow: Math.max(0, document.documentElement.scrollWidth - window.innerWidth),
      overflowing: overflowing,
      readyState: document.readyState, title: document.title,
      images: imgs, widgetViews: views.length, widgetsRendered: rendered,
      widgetClasses: document.querySelectorAll('.jupyter-widgets').length,
      math: maths.length, mathUnrendered: mathRaw,
      mathErrors: document.querySelectorAll('mjx-merror').length,
      external: external, errors: errors,
      height: Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)
    };
    document.documentElement.setAttribute('data-book-check', JSON.stringify(report));
  }
  setInterval(measure, 250);
  window.addEventListener('load', function () { setTimeout(measure, 0); });
})();
