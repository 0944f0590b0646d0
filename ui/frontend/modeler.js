// The analysts' modeler page: bpmn-js Modeler with the properties panel and the Camunda
// moddle (so `camunda:properties` — action, days, days_min, … — are editable), «Перевірити»
// (validate) and «Розгорнути» (deploy) through the pages' own routes (the session cookie plus
// the page's CSRF token in X-CSRFToken; the REST API takes bearer tokens only), and the
// element-level errors of a 422 shown in a list and on the canvas.
//
// Bundled by esbuild (`npm run build`, run by scripts/setup) into ui/static/build/modeler.js:
// the properties panel ships ES modules only.

import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

import { translateModule } from './translations.js';

const ERROR_MARKER = 'marshrut-error';

function element(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** The page's CSRF token (base.html's <meta name="csrf-token">), sent with every write. */
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

function problemText(body, response) {
  if (body && (body.detail || body.title)) {
    return body.detail || body.title;
  }
  return `Помилка ${response.status}`;
}

export class ModelerPage {

  constructor(root) {
    this.root = root;
    this.urls = {
      xml: root.dataset.xmlUrl,
      validate: root.dataset.validateUrl,
      deploy: root.dataset.deployUrl,
      card: root.dataset.cardUrl
    };
    this.status = root.querySelector('[data-role=status]');
    this.errorList = root.querySelector('[data-role=errors]');
    this.marked = [];
    this.modeler = new BpmnModeler({
      container: root.querySelector('[data-role=canvas]'),
      propertiesPanel: { parent: root.querySelector('[data-role=properties]') },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule,
        CamundaBehaviorsModule,
        translateModule
      ],
      moddleExtensions: { camunda: camundaModdle }
    });
    this.dirty = false;
    this.modeler.on('commandStack.changed', () => {
      this.dirty = true;
    });
    window.addEventListener('beforeunload', (event) => {
      if (this.dirty) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
  }

  async open() {
    this.setStatus('info', 'Завантаження діаграми…');
    const response = await fetch(this.urls.xml, { credentials: 'same-origin', headers: { Accept: 'application/xml' } });
    if (!response.ok) {
      throw new Error(`Не вдалося отримати BPMN (${response.status})`);
    }
    const { warnings } = await this.modeler.importXML(await response.text());
    this.modeler.get('canvas').zoom('fit-viewport');
    this.setStatus('info', warnings.length
      ? `Діаграму відкрито; попереджень імпорту: ${warnings.length}`
      : 'Діаграму відкрито. Змініть її, перевірте й розгорніть нову версію.');
    this.root.dataset.state = 'ready';
  }

  bind() {
    const on = (role, handler) => {
      const button = this.root.querySelector(`[data-action=${role}]`);
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await handler.call(this);
        } catch (error) {
          this.setStatus('error', error.message || String(error));
        } finally {
          button.disabled = false;
        }
      });
    };
    on('validate', this.validate);
    on('deploy', this.deploy);
    on('download', this.download);
  }

  async post(url) {
    this.clearErrors();
    const { xml } = await this.modeler.saveXML({ format: true });
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/xml; charset=utf-8',
        Accept: 'application/json',
        'X-CSRFToken': csrfToken()
      },
      body: xml
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (response.status === 422) {
      this.showErrors(body && body.errors ? body.errors : []);
      this.setStatus('error', `${problemText(body, response)}: знайдено помилок — ${(body && body.errors || []).length}`);
      return null;
    }
    if (!response.ok) {
      this.setStatus('error', problemText(body, response));
      return null;
    }
    return body;
  }

  async validate() {
    this.setStatus('info', 'Перевірка…');
    const body = await this.post(this.urls.validate);
    if (body) {
      this.setStatus('ok', `Діаграма коректна: кроків (задач користувача) — ${(body.steps || []).length}.`);
    }
    this.root.dataset.checked = body ? 'valid' : 'invalid';
  }

  async deploy() {
    this.setStatus('info', 'Розгортання…');
    const body = await this.post(this.urls.deploy);
    if (!body) {
      this.root.dataset.checked = 'invalid';
      return;
    }
    const link = element('a', { href: `${this.urls.card}?version=${body.version}` }, 'Відкрити картку');
    const text = body.created === false
      ? `Змін немає: діаграма збігається з версією ${body.version}. `
      : `Розгорнуто версію ${body.version}. `;
    this.setStatus('ok', text, link);
    this.dirty = false;
    this.root.dataset.deployed = String(body.version);
  }

  async download() {
    const { xml } = await this.modeler.saveXML({ format: true });
    const link = element('a', {
      href: URL.createObjectURL(new Blob([xml], { type: 'application/xml' })),
      download: `${this.root.dataset.key || 'diagram'}.bpmn`
    });
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  setStatus(kind, text, extra) {
    this.status.className = `modeler-status ${kind}`;
    this.status.textContent = text;
    if (extra) {
      this.status.appendChild(extra);
    }
  }

  clearErrors() {
    const canvas = this.modeler.get('canvas');
    const overlays = this.modeler.get('overlays');
    for (const id of this.marked) {
      canvas.removeMarker(id, ERROR_MARKER);
    }
    overlays.remove({ type: ERROR_MARKER });
    this.marked = [];
    this.errorList.replaceChildren();
    this.errorList.hidden = true;
  }

  /** The 422's errors as a list, and on the canvas: a marker and an overlay with the message. */
  showErrors(errors) {
    const registry = this.modeler.get('elementRegistry');
    const canvas = this.modeler.get('canvas');
    const overlays = this.modeler.get('overlays');
    const byElement = new Map();
    for (const { path, message } of errors) {
      const item = element('li', { 'data-element': path || '' });
      const shape = path ? registry.get(path) : null;
      if (shape) {
        const link = element('a', { href: '#', title: 'Показати на діаграмі' }, path);
        link.addEventListener('click', (event) => {
          event.preventDefault();
          if (canvas.zoom() < 0.9) {
            canvas.zoom(1);
          }
          canvas.scrollToElement(shape, { top: 120, bottom: 120, left: 160, right: 120 });
          this.modeler.get('selection').select(shape);
        });
        item.append(link, `: ${message}`);
        byElement.set(path, [...(byElement.get(path) || []), message]);
      } else {
        item.textContent = path ? `${path}: ${message}` : message;
      }
      this.errorList.appendChild(item);
    }
    this.errorList.hidden = errors.length === 0;
    for (const [id, messages] of byElement) {
      const shape = registry.get(id);
      canvas.addMarker(id, ERROR_MARKER);
      this.marked.push(id);
      const note = element('div', { class: 'marshrut-error-note', 'data-element': id, title: messages.join('\n') },
        messages.join('; '));
      const position = shape.waypoints ? { top: 0, left: 0 } : { bottom: -4, left: 0 };
      // Readable at any zoom: the note never shrinks below its CSS size.
      overlays.add(id, ERROR_MARKER, { position, html: note, scale: { min: 1 } });
    }
  }
}

async function start() {
  const root = document.getElementById('modeler');
  if (!root) {
    return;
  }
  const page = new ModelerPage(root);
  // For the browser tests and for analysts' console work: the modeler and its page.
  window.marshrutModeler = page.modeler;
  window.marshrutModelerPage = page;
  page.bind();
  try {
    await page.open();
  } catch (error) {
    root.dataset.state = 'error';
    page.setStatus('error', error.message || String(error));
  }
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
