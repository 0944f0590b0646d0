// The managers' dashboard chart (Chart.js): actual step durations against the card's limits.
// Its figures come from the page as JSON (<script type="application/json" id="durations-data">),
// not from an inline script: the pages' CSP allows scripts from this origin's files only.
(function () {
  'use strict';

  function start() {
    var source = document.getElementById('durations-data');
    var canvas = document.getElementById('durations-chart');
    if (!source || !canvas) { return; }
    var data = JSON.parse(source.textContent);
    if (!window.Chart) { canvas.replaceWith(document.createTextNode('Chart.js не завантажено.')); return; }
    canvas.chart = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: data.labels,
        datasets: [
          { label: 'Медіана, дн.', data: data.median, backgroundColor: '#005bbb' },
          { label: '90-й процентиль, дн.', data: data.p90, backgroundColor: '#7fa7d9' },
          { label: 'Ліміт картки, дн.', data: data.limit, backgroundColor: '#b3261e' }
        ]
      },
      options: {
        indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { tooltip: { callbacks: { title: function (items) { return data.titles[items[0].dataIndex]; } } } },
        scales: { x: { beginAtZero: true, title: { display: true, text: 'днів (ліміт — у днях картки: робочих або календарних)' } } }
      }
    });
    document.getElementById('durations').setAttribute('data-chart', 'ready');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
