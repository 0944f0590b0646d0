// The analysts' decision-table page: dmn-js opens the process's DMN table for editing;
// «Перевірити» runs the same checks as a deploy, «Розгорнути» deploys a new version of the
// process with the changed table. Writes go to the page's own routes with the CSRF header.
//
// Bundled by esbuild (`npm run build`) into ui/static/build/dmn_editor.js.

import DmnModeler from 'dmn-js/lib/Modeler';
import { openOrShowError, whenReady } from './page_start.js';

function problemText(body, response) {
  const details = ((body && body.errors) || []).map((e) => `${e.path}: ${e.message}`).join('; ');
  return details || (body && (body.detail || body.title)) || `Помилка ${response.status}`;
}

class DecisionPage {
  constructor(root) {
    this.root = root;
    this.status = root.querySelector('[data-role=status]');
    this.csrf = (document.querySelector('meta[name=csrf-token]') || {}).content || '';
    this.modeler = new DmnModeler({ container: root.querySelector('[data-role=canvas]'), common: { keyboard: { bindTo: window } } });
  }

  setStatus(kind, text) {
    this.status.className = `modeler-status ${kind}`;
    this.status.textContent = text;
  }

  async open() {
    const response = await fetch(this.root.dataset.xmlUrl, { credentials: 'same-origin' });
    if (!response.ok) {
      throw new Error(`Не вдалося отримати таблицю (${response.status})`);
    }
    await this.modeler.importXML(await response.text());
    const table = this.modeler.getViews().find((view) => view.type === 'decisionTable');
    if (table) {
      await this.modeler.open(table);
    }
    this.root.dataset.state = 'ready';
    this.setStatus('info', 'Таблицю відкрито: змініть клітинки, перевірте й розгорніть нову версію процесу.');
  }

  async post(url) {
    const { xml } = await this.modeler.saveXML({ format: true });
    const form = new FormData();
    form.append('file', new Blob([xml], { type: 'application/xml' }), this.root.dataset.file);
    const response = await fetch(url, {
      method: 'POST', credentials: 'same-origin', body: form,
      headers: { Accept: 'application/json', 'X-CSRFToken': this.csrf }
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      this.setStatus('error', problemText(body, response));
      this.root.dataset.checked = 'invalid';
      return null;
    }
    return body;
  }

  async validate() {
    if (await this.post(this.root.dataset.validateUrl)) {
      this.root.dataset.checked = 'valid';
      this.setStatus('ok', 'Таблиця коректна: процес з нею проходить перевірку розгортання.');
    }
  }

  async deploy() {
    if (!window.confirm('Розгорнути нову версію процесу з цією таблицею? Нові справи підуть за нею.')) {
      return;
    }
    const body = await this.post(this.root.dataset.deployUrl);
    if (body) {
      this.root.dataset.deployed = String(body.version);
      this.setStatus('ok', body.created === false
        ? `Змін немає: таблиця збігається з версією ${body.version}.`
        : `Розгорнуто версію ${body.version}.`);
    }
  }
}

async function start() {
  const root = document.getElementById('dmn-editor');
  if (!root) {
    return;
  }
  const page = new DecisionPage(root);
  window.marshrutDmn = page.modeler;
  for (const [action, handler] of [['validate', page.validate], ['deploy', page.deploy]]) {
    const button = root.querySelector(`[data-action=${action}]`);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await handler.call(page);
      } catch (error) {
        page.setStatus('error', error.message || String(error));
      } finally {
        button.disabled = false;
      }
    });
  }
  await openOrShowError(root, page);
}

whenReady(start);
