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

import lintModule from 'bpmn-js-bpmnlint';

import { cardPropertiesModule, setProperty } from './card_properties.js';
import { FormEditor } from './form_editor.js';
import { lintConfig } from './lint.js';
import { openOrShowError, whenReady } from './page_start.js';
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
    this.source = root.dataset.source || 'deployed';
    this.roles = JSON.parse(root.dataset.roles || '{}');
    this.forms = null;
    this.csrf = (document.querySelector('meta[name=csrf-token]') || {}).content || '';
    this.modeler = new BpmnModeler({
      container: root.querySelector('[data-role=canvas]'),
      propertiesPanel: { parent: root.querySelector('[data-role=properties]') },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule,
        CamundaBehaviorsModule,
        cardPropertiesModule,
        lintModule,
        translateModule
      ],
      marshrut: { roles: this.roles },
      linting: { bpmnlint: lintConfig(Object.keys(this.roles)), active: true },
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

  /** The diagram: the deployed version's XML, or the one the card import left in sessionStorage. */
  async diagramXml() {
    if (this.source === 'import') {
      const stored = JSON.parse(sessionStorage.getItem('marshrut-import') || 'null');
      if (!stored) {
        throw new Error('Немає діаграми з картки: завантажте картку на сторінці імпорту');
      }
      this.forms = stored.forms;
      this.root.dataset.key = stored.key;
      this.showImportWarnings(stored.warnings || []);
      return stored.bpmn;
    }
    const response = await fetch(this.urls.xml, { credentials: 'same-origin', headers: { Accept: 'application/xml' } });
    if (!response.ok) {
      throw new Error(`Не вдалося отримати BPMN (${response.status})`);
    }
    if (this.root.dataset.formsUrl) {
      const forms = await fetch(this.root.dataset.formsUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      this.forms = forms.ok ? await forms.json() : null;
    }
    return response.text();
  }

  showImportWarnings(warnings) {
    const list = this.root.querySelector('[data-role=warnings]');
    if (!list) {
      return;
    }
    list.replaceChildren(...warnings.map((text) => element('li', {}, text)));
    list.hidden = warnings.length === 0;
  }

  async open() {
    this.setStatus('info', 'Завантаження діаграми…');
    const { warnings } = await this.modeler.importXML(await this.diagramXml());
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
    // The diagram with its forms, multipart to the page's own route (session + CSRF header);
    // forms not sent are taken from forms/<key>/ by the server.
    const form = new FormData();
    form.append('file', new Blob([xml], { type: 'application/xml' }), `${this.root.dataset.key || 'diagram'}.bpmn`);
    form.append('forms', JSON.stringify(this.forms || {}));
    const request = { headers: { Accept: 'application/json', 'X-CSRFToken': this.csrf }, body: form };
    const response = await fetch(url, { method: 'POST', credentials: 'same-origin', ...request });
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

  /** Ask for a change note before deploying; resolves to the note, or null when cancelled. */
  confirmDeploy() {
    const dialog = this.root.querySelector('[data-role=deploy-dialog]');
    const note = dialog.querySelector('[data-role=change-note]');
    note.value = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        resolve(dialog.returnValue === 'confirm' && note.value.trim() ? note.value.trim() : null);
      }, { once: true });
      dialog.showModal();
    });
  }

  /** The change note travels with the version: the process property `change_note`. */
  recordChangeNote(note) {
    const canvas = this.modeler.get('canvas');
    const root = canvas.getRootElement();
    const bo = root.businessObject;
    const process = bo.$type === 'bpmn:Collaboration' ? (bo.participants || [])[0].processRef : bo;
    setProperty(this.modeler.get('injector'), root, 'change_note', note, process);
  }

  async deploy() {
    const note = await this.confirmDeploy();
    if (note === null) {
      this.setStatus('info', 'Розгортання скасовано.');
      return;
    }
    this.recordChangeNote(note);
    this.setStatus('info', 'Розгортання…');
    const body = await this.post(this.urls.deploy);
    if (!body) {
      this.root.dataset.checked = 'invalid';
      return;
    }
    const card = this.source === 'import' ? `${this.urls.card}${body.key}` : this.urls.card;
    const link = element('a', { href: `${card}?version=${body.version}` }, 'Відкрити картку');
    const text = body.created === false
      ? `Змін немає: діаграма збігається з версією ${body.version}. `
      : `Розгорнуто версію ${body.version}. `;
    this.setStatus('ok', text, link);
    this.dirty = false;
    this.root.dataset.deployed = String(body.version);
    const version = this.root.querySelector('[data-role=version]');
    if (version) {
      version.textContent = body.created === false
        ? `Версія ${body.version} (без змін).`
        : `Розгорнуто версію ${body.version} (${note}).`;
    }
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
  const formEditor = root.querySelector('[data-role=form-editor]');
  if (formEditor) {
    page.formEditor = new FormEditor(page, formEditor);
  }
  // For the browser tests and for analysts' console work: the modeler and its page.
  window.marshrutModeler = page.modeler;
  window.marshrutModelerPage = page;
  page.bind();
  await openOrShowError(root, page);
}

whenReady(start);
