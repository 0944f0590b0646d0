// The step's form in the modeler: its JSON Schema in an editor with validation, and a preview
// of the form as staff will see it on the task page (rendered by the server from the same
// template). Edited forms are kept with the page and deployed together with the diagram.

const SCHEMA = 'https://json-schema.org/draft/2020-12/schema';

function blank(title) {
  return {
    $schema: SCHEMA, title, type: 'object',
    properties: { done: { type: 'boolean', title: 'Виконано', const: true }, note: { type: 'string', title: 'Примітка', maxLength: 2000 } },
    required: ['done'], additionalProperties: false
  };
}

export class FormEditor {

  /** @param page the ModelerPage (its forms, csrf token and modeler) */
  constructor(page, root) {
    this.page = page;
    this.root = root;
    this.title = root.querySelector('[data-role=form-title]');
    this.text = root.querySelector('[data-role=form-json]');
    this.message = root.querySelector('[data-role=form-message]');
    this.preview = root.querySelector('[data-role=form-preview]');
    this.formId = null;
    root.querySelector('[data-action=apply-form]').addEventListener('click', () => this.apply());
    page.modeler.on('selection.changed', ({ newSelection }) => this.show(newSelection[0]));
  }

  /** Which form an element has: a user task's own, the start event's or the process's is ``start``. */
  formIdOf(element) {
    if (!element) {
      return null;
    }
    const type = element.businessObject.$type;
    if (type === 'bpmn:UserTask') {
      return element.id;
    }
    return ['bpmn:StartEvent', 'bpmn:Process', 'bpmn:Participant'].includes(type) ? 'start' : null;
  }

  show(element) {
    const formId = this.formIdOf(element);
    this.formId = formId;
    this.root.hidden = formId === null || this.page.forms === null;
    this.root.dataset.form = formId || '';
    if (this.root.hidden) {
      return;
    }
    const name = formId === 'start' ? 'стартова форма (заява)' : (element.businessObject.name || formId);
    this.title.textContent = `Форма: ${name}`;
    const schema = this.page.forms[formId] || blank(element.businessObject.name || formId);
    this.text.value = JSON.stringify(schema, null, 2);
    this.setMessage('', '');
    this.render(schema);
  }

  setMessage(kind, text) {
    this.message.className = `form-message ${kind}`;
    this.message.textContent = text;
  }

  async render(schema) {
    const response = await fetch(this.page.root.dataset.formPreviewUrl, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'text/html, application/problem+json', 'X-CSRFToken': this.page.csrf },
      body: JSON.stringify({ schema, name: this.formId })
    });
    if (response.ok) {
      this.preview.innerHTML = await response.text();
      return true;
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    const details = ((body && body.errors) || []).map((e) => e.message).join('; ');
    this.setMessage('error', details || (body && (body.detail || body.title)) || `Помилка ${response.status}`);
    this.preview.replaceChildren();
    return false;
  }

  async apply() {
    let schema;
    try {
      schema = JSON.parse(this.text.value);
    } catch (error) {
      this.setMessage('error', `Не JSON: ${error.message}`);
      this.root.dataset.valid = 'false';
      return;
    }
    if (await this.render(schema)) {
      this.page.forms[this.formId] = schema;
      this.page.dirty = true;
      this.setMessage('ok', 'Форму застосовано: вона буде розгорнута разом з діаграмою.');
      this.root.dataset.valid = 'true';
    } else {
      this.root.dataset.valid = 'false';
    }
  }
}
