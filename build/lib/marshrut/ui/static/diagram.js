// Read-only BPMN diagrams of the pages (_diagram.html): bpmn-js NavigatedViewer on every
// .bpmn-diagram box, the XML fetched from the box's data-xml-url (a page route, same origin),
// completed and active steps marked. A static file: the pages' CSP allows no inline script.
(function () {
  'use strict';

  function show(box) {
    var message = box.querySelector('.bpmn-diagram-message');
    function fail(text) {
      box.setAttribute('data-state', 'error');
      message.textContent = text;
      message.className = 'bpmn-diagram-message error';
    }
    if (!window.BpmnJS) {
      fail('Переглядач BPMN не завантажено (./scripts/setup встановлює пакети npm).');
      return;
    }
    var viewer = new window.BpmnJS({ container: box.querySelector('.bpmn-diagram-canvas') });
    box.bpmnViewer = viewer;
    fetch(box.getAttribute('data-xml-url'), { credentials: 'same-origin', headers: { Accept: 'application/xml' } })
      .then(function (response) {
        if (!response.ok) { throw new Error('Не вдалося отримати діаграму (' + response.status + ')'); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport');
        function mark(ids, marker) {
          ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
        }
        mark(JSON.parse(box.getAttribute('data-completed')), 'marshrut-completed');
        mark(JSON.parse(box.getAttribute('data-active')), 'marshrut-active');
        mark(JSON.parse(box.getAttribute('data-failed') || '[]'), 'marshrut-error');
        box.querySelectorAll('[data-zoom]').forEach(function (button) {
          button.addEventListener('click', function () {
            var how = button.getAttribute('data-zoom');
            if (how === 'fit') { canvas.zoom('fit-viewport', 'auto'); return; }
            canvas.zoom(canvas.zoom() * (how === 'in' ? 1.25 : 0.8), 'auto');
          });
        });
        message.textContent = '';
        message.hidden = true;
        box.setAttribute('data-state', 'ready');
      })
      .catch(function (error) { fail(error.message || String(error)); });
  }

  function start() {
    document.querySelectorAll('.bpmn-diagram[data-xml-url]').forEach(function (box) {
      if (!box.bpmnViewer) { show(box); }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
