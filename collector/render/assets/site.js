/* arxdigest site: the filters and search of a digest page, the back link of a paper page.
   Loads nothing: every datum is in the page (data-kw, data-cat, data-score of each paper).
   Filters come from the form and from the URL: #kw=..&score=..&cat=..&q=.. (or ?kw=..). */
(function () {
  'use strict';
  var root = document.documentElement;
  var KEYS = ['kw', 'score', 'cat', 'q'];
  root.className = root.className.replace(/(^|\s)nojs(\s|$)/, '$1js$2');

  function $(id) { return document.getElementById(id); }
  function low(s) { return String(s).toLowerCase(); }
  function hashParams() { return new URLSearchParams(location.hash.replace(/^#/, '')); }

  /* Paper page: "#from=digest-X.html" (set by the digest's links) makes the back link
     return to that digest instead of the index. */
  var back = $('ax-back');
  if (back) {
    var from = hashParams().get('from');
    if (from && /^digest-[A-Za-z0-9_.-]+\.html$/.test(from)) {
      back.setAttribute('href', '../' + from);
      if (back.getAttribute('data-label')) back.textContent = back.getAttribute('data-label');
    }
    return;
  }

  var list = $('ax-papers'), form = $('ax-filters'), status = $('ax-status'), empty = $('ax-empty');
  if (!list || !form) return;
  var ctl = { kw: $('ax-kw'), score: $('ax-score'), cat: $('ax-cat'), q: $('ax-q') };

  function words(el, name) {
    try {
      var v = JSON.parse(el.getAttribute(name) || '[]');
      return Array.isArray(v) ? v.map(low) : [];
    } catch (e) { return []; }
  }
  var items = Array.prototype.map.call(list.querySelectorAll('li.paper'), function (el) {
    return { el: el, kw: words(el, 'data-kw'), cat: words(el, 'data-cat'),
             score: parseInt(el.getAttribute('data-score'), 10) || 0,
             text: low(el.textContent).replace(/\s+/g, ' ') };
  });

  /* The filter state of the URL: the fragment wins over the query string. */
  function fromUrl() {
    var q = new URLSearchParams(location.search), h = hashParams(), s = {};
    KEYS.forEach(function (k) {
      var v = h.has(k) ? h.get(k) : q.get(k);
      s[k] = v ? v.trim() : '';
    });
    return s;
  }
  function fromForm() {
    var s = {};
    KEYS.forEach(function (k) { s[k] = ctl[k] ? ctl[k].value.trim() : ''; });
    return s;
  }
  /* Records the state in the fragment (no reload, no history entry). A filter the query
     string sets is written even when empty, so the fragment overrides it. */
  function toUrl(s) {
    var q = new URLSearchParams(location.search), p = new URLSearchParams();
    KEYS.forEach(function (k) { if (s[k] || q.has(k)) p.set(k, s[k]); });
    var h = p.toString();
    try {
      history.replaceState(null, '', location.href.split('#')[0] + (h ? '#' + h : ''));
    } catch (e) { /* some browsers refuse it for file:// pages: the view still filters */ }
  }
  function setSelect(sel, v) {
    if (!sel) return;
    var opts = Array.prototype.slice.call(sel.options), i;
    for (i = 0; i < opts.length; i++)
      if (low(opts[i].value) === low(v)) { sel.value = opts[i].value; return; }
    var o = document.createElement('option');   /* a value from the URL that no paper has */
    o.value = v; o.textContent = v;
    sel.appendChild(o);
    sel.value = v;
  }
  function matches(it, s, terms) {
    if (s.kw && it.kw.indexOf(low(s.kw)) < 0) return false;
    if (s.cat && it.cat.indexOf(low(s.cat)) < 0) return false;
    if (s.score === 'none') {
      if (it.score) return false;
    } else if (s.score) {
      var min = parseInt(s.score, 10);
      if (min > 0 && it.score < min) return false;
    }
    for (var i = 0; i < terms.length; i++)
      if (it.text.indexOf(terms[i]) < 0) return false;
    return true;
  }
  function apply(s) {
    setSelect(ctl.kw, s.kw); setSelect(ctl.score, s.score); setSelect(ctl.cat, s.cat);
    if (ctl.q && ctl.q.value.trim() !== s.q) ctl.q.value = s.q;
    var terms = low(s.q).split(/\s+/).filter(Boolean), shown = 0;
    items.forEach(function (it) {
      var ok = matches(it, s, terms);
      it.el.hidden = !ok;
      if (ok) shown++;
    });
    status.setAttribute('data-shown', String(shown));
    status.textContent = (status.getAttribute('data-fmt') || '{shown} / {total}')
      .replace('{shown}', shown).replace('{total}', items.length);
    if (empty) empty.hidden = shown > 0 || items.length === 0;
    root.classList.toggle('filtered', !!(s.kw || s.score || s.cat || s.q));
  }
  function update(s) { toUrl(s); apply(s); }

  form.addEventListener('input', function () { update(fromForm()); });
  form.addEventListener('change', function () { update(fromForm()); });
  form.addEventListener('submit', function (e) { e.preventDefault(); update(fromForm()); });
  form.addEventListener('reset', function () { setTimeout(function () { update(fromForm()); }, 0); });
  /* A keyword or category chip narrows the current view instead of replacing it. */
  list.addEventListener('click', function (e) {
    var a = e.target.closest ? e.target.closest('a[data-f]') : null;
    if (!a) return;
    e.preventDefault();
    var s = fromForm();
    s[a.getAttribute('data-f')] = a.getAttribute('data-v') || '';
    update(s);
  });
  window.addEventListener('hashchange', function () { apply(fromUrl()); });
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && document.activeElement !== ctl.q && ctl.q) { e.preventDefault(); ctl.q.focus(); }
  });
  apply(fromUrl());
})();
