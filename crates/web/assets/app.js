// dangjian: progressive enhancement only; every page works without this.
document.querySelectorAll('.bottom a').forEach(function (a) {
  if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
});
