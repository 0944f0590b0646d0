// The technological-card import page (card_import.html): uploads the DOCX to the page's own route
// (session + CSRF header) and opens the generated diagram in the modeler. A static file: the
// pages' CSP allows no inline script.
(() => {
  const root = document.getElementById('card-import');
  const form = root.querySelector('[data-role=import-form]');
  const status = root.querySelector('[data-role=status]');
  const errors = root.querySelector('[data-role=errors]');
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    errors.hidden = true;
    status.className = 'modeler-status info';
    status.textContent = 'Читаю картку…';
    const response = await fetch(root.dataset.importUrl, {
      method: 'POST', credentials: 'same-origin', body: new FormData(form),
      headers: { 'X-CSRFToken': csrf, Accept: 'application/json' }
    });
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    if (!response.ok) {
      status.className = 'modeler-status error';
      status.textContent = (body && (body.detail || body.title)) || `Помилка ${response.status}`;
      for (const item of (body && body.errors) || []) {
        const li = document.createElement('li');
        li.textContent = `${item.path}: ${item.message}`;
        errors.appendChild(li);
      }
      errors.hidden = errors.children.length === 0;
      root.dataset.state = 'error';
      return;
    }
    sessionStorage.setItem('marshrut-import', JSON.stringify(body));
    window.location.assign(root.dataset.modelerUrl);
  });
})();
