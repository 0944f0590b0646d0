// Small behaviours of every page, bound here because the pages' CSP allows no inline script
// or inline event handler: [data-print] buttons print the page.
(function () {
  'use strict';

  function start() {
    document.querySelectorAll('[data-print]').forEach(function (button) {
      button.addEventListener('click', function () { window.print(); });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
