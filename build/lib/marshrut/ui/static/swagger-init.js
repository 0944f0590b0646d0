// Starts Swagger UI on /api/v1/docs (api/templates/swagger_ui.html): a static file, since the
// Content-Security-Policy allows no inline script.
(function () {
  'use strict';
  var container = document.getElementById('swagger-ui-container');
  var config = { url: container.getAttribute('data-spec-url'), dom_id: '#swagger-ui-container' };
  var extra = JSON.parse(container.getAttribute('data-config') || '{}');
  Object.keys(extra).forEach(function (name) { config[name] = extra[name]; });
  window.addEventListener('load', function () { window.ui = window.SwaggerUIBundle(config); });
})();
