// The «Картка» properties group: the technological card's step attributes (SPEC §4) as typed
// fields — action as a choice of В/У/П/З, days and days_min as numbers, calendar, from,
// deadline, participants as role + action rows — all written as `camunda:properties`, so the
// diagram stays what a standard modeler and SpiffWorkflow read. Process-level totals
// (target_days, legal_days, calendar) and the lane's role get the same treatment.
// Camunda groups Marshrut does not honour are hidden.

import {
  Group,
  ListGroup,
  NumberFieldEntry,
  SelectEntry,
  isNumberFieldEntryEdited,
  isSelectEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { jsx } from '@bpmn-io/properties-panel/preact/jsx-runtime';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export const ACTIONS = [
  { value: 'В', label: 'В — виконує' },
  { value: 'У', label: 'У — бере участь' },
  { value: 'П', label: 'П — погоджує' },
  { value: 'З', label: 'З — затверджує' }
];
const CALENDARS = [{ value: 'working', label: 'робочі дні' }, { value: 'calendar', label: 'календарні дні' }];
const FROM = [{ value: 'entered', label: 'від надходження на крок' }, { value: 'received', label: 'від надходження заяви' }];
const DEADLINES = [
  { value: 'target', label: 'до нормативної дати справи (target)' },
  { value: 'legal', label: 'до граничної дати за законом (legal)' },
  { value: 'year_end', label: 'до кінця року (year_end)' }
];

/** Camunda 7 groups whose settings Marshrut's engine does not read: hidden so nobody relies on them. */
const IGNORED_GROUPS = new Set([
  'CamundaPlatform__Errors', 'CamundaPlatform__UserAssignment', 'CamundaPlatform__StartInitiator',
  'CamundaPlatform__ExternalTask', 'CamundaPlatform__AsynchronousContinuations', 'CamundaPlatform__JobExecution',
  'CamundaPlatform__CandidateStarter', 'CamundaPlatform__FieldInjection', 'CamundaPlatform__HistoryCleanup',
  'CamundaPlatform__Tasklist', 'CamundaPlatform__InMapping', 'CamundaPlatform__InMappingPropagation',
  'CamundaPlatform__OutMapping', 'CamundaPlatform__OutMappingPropagation', 'CamundaPlatform__FormData',
  'CamundaPlatform__BusinessKey', 'CamundaPlatform__Form', 'CamundaPlatform__ExecutionListener',
  'CamundaPlatform__TaskListener', 'CamundaPlatform__Input', 'CamundaPlatform__Output',
  'CamundaPlatform__ConnectorInput', 'CamundaPlatform__ConnectorOutput', 'CamundaPlatform__ProcessVariables'
]);

// --- reading and writing camunda:properties ---

/** Whose properties an element shows: a pool's are its process's. */
export function ownerOf(element) {
  const bo = getBusinessObject(element);
  return is(element, 'bpmn:Participant') && bo.processRef ? bo.processRef : bo;
}

function propertiesOf(bo) {
  const extensions = bo.get('extensionElements');
  return extensions && extensions.get('values').find((value) => is(value, 'camunda:Properties'));
}

export function getProperty(bo, name) {
  const container = propertiesOf(bo);
  const found = container && container.get('values').find((p) => p.name === name);
  return found ? found.value : undefined;
}

/** Set (or, with an empty value, remove) one camunda:property of ``element``'s business object, undoably. */
export function setProperty(injector, element, name, value, bo = getBusinessObject(element)) {
  const commandStack = injector.get('commandStack');
  const bpmnFactory = injector.get('bpmnFactory');
  const empty = value === undefined || value === null || value === '';
  const commands = [];
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    if (empty) {
      return;
    }
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: bo, properties: { extensionElements: extensions } } });
  }
  let container = propertiesOf(bo);
  if (!container) {
    if (empty) {
      return;
    }
    container = bpmnFactory.create('camunda:Properties', { values: [] });
    container.$parent = extensions;
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: extensions, properties: { values: [...extensions.get('values'), container] } } });
  }
  const current = container.get('values').find((p) => p.name === name);
  if (current && empty) {
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: container, properties: { values: container.get('values').filter((p) => p !== current) } } });
  } else if (current) {
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: current, properties: { value: String(value) } } });
  } else if (!empty) {
    const property = bpmnFactory.create('camunda:Property', { name, value: String(value) });
    property.$parent = container;
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: container, properties: { values: [...container.get('values'), property] } } });
  }
  if (commands.length) {
    commandStack.execute('properties-panel.multi-command-executor', commands);
  }
}

// --- participants: "role:У,role2:П" ---

export function parseParticipants(text) {
  return (text || '').split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [role, action] = part.split(':').map((s) => (s || '').trim());
    return { role, action: action || 'У' };
  });
}

function formatParticipants(rows) {
  return rows.filter((row) => row.role).map((row) => `${row.role}:${row.action || 'У'}`).join(',');
}

// --- entries ---

function choices(options, withEmpty = true) {
  return () => (withEmpty ? [{ value: '', label: '—' }] : []).concat(options);
}

function PropertySelect(props) {
  const { element, id, name, label, options, description } = props;
  const injector = useService('injector');
  const translate = useService('translate');
  return jsx(SelectEntry, {
    element, id, label: translate(label), description,
    getValue: () => getProperty(ownerOf(element), name) || '',
    setValue: (value) => setProperty(injector, element, name, value, ownerOf(element)),
    getOptions: choices(options)
  });
}

function PropertyNumber(props) {
  const { element, id, name, label, description } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return jsx(NumberFieldEntry, {
    element, id, label, description, min: 0, max: 366, step: 1, debounce,
    getValue: () => {
      const value = getProperty(ownerOf(element), name);
      return value === undefined || value === '' ? '' : Number(value);
    },
    setValue: (value) => setProperty(injector, element, name, value === undefined || value === null || Number.isNaN(value) ? '' : String(value), ownerOf(element))
  });
}

function select(element, name, label, options, description) {
  return { id: `marshrut-${name}`, element, name, label, options, description, component: PropertySelect, isEdited: isSelectEntryEdited };
}

function number(element, name, label, description) {
  return { id: `marshrut-${name}`, element, name, label, description, component: PropertyNumber, isEdited: isNumberFieldEntryEdited };
}

function roleOptions(roles) {
  return Object.entries(roles).map(([value, label]) => ({ value, label: `${label} (${value})` }));
}

function participantsGroup(element, injector, roles) {
  const bo = getBusinessObject(element);
  const rows = parseParticipants(getProperty(bo, 'participants'));
  const write = (next) => setProperty(injector, element, 'participants', formatParticipants(next));
  const items = rows.map((row, index) => {
    const RowRole = () => jsx(SelectEntry, {
      element, id: `marshrut-participant-${index}-role`, label: 'Роль',
      getValue: () => row.role,
      setValue: (value) => write(rows.map((r, i) => (i === index ? { ...r, role: value } : r))),
      getOptions: () => {
        const options = roleOptions(roles);
        return options.some((o) => o.value === row.role) ? options : [{ value: row.role, label: `${row.role} (невідома роль)` }, ...options];
      }
    });
    const RowAction = () => jsx(SelectEntry, {
      element, id: `marshrut-participant-${index}-action`, label: 'Дія',
      getValue: () => row.action,
      setValue: (value) => write(rows.map((r, i) => (i === index ? { ...r, action: value } : r))),
      getOptions: () => ACTIONS
    });
    return {
      id: `marshrut-participant-${index}`,
      label: `${roles[row.role] || row.role} — ${row.action}`,
      entries: [
        { id: `marshrut-participant-${index}-role`, component: RowRole },
        { id: `marshrut-participant-${index}-action`, component: RowAction }
      ],
      autoFocusEntry: `marshrut-participant-${index}-role`,
      remove: () => write(rows.filter((_r, i) => i !== index))
    };
  });
  return {
    id: 'marshrutParticipants',
    label: 'Учасники (role:дія)',
    component: ListGroup,
    items,
    add: (event) => {
      event.stopPropagation();
      const lanes = (bo.lanes || []).map((lane) => getProperty(lane, 'role') || lane.id);
      const used = new Set([...rows.map((r) => r.role), ...lanes]);
      const free = Object.keys(roles).find((role) => !used.has(role)) || Object.keys(roles)[0];
      write([...rows, { role: free, action: 'У' }]);
    }
  };
}

function cardGroup(element, roles) {
  const entries = [];
  if (is(element, 'bpmn:UserTask')) {
    entries.push(
      select(element, 'action', 'Дія (В, У, П, З)', ACTIONS, 'Хто завершує крок: В виконує; П/З — коли В немає; У — коли лише У'),
      number(element, 'days', 'Строк, днів (days)', 'Верхня межа строку'),
      number(element, 'days_min', 'Строк від, днів (days_min)', 'Нижня межа діапазону «3–4 дні»'),
      select(element, 'calendar', 'Календар', CALENDARS),
      select(element, 'from', 'Відлік', FROM),
      select(element, 'deadline', 'Крайня дата справи (deadline)', DEADLINES, 'Для рядків «протягом 20 днів» від надходження')
    );
  } else if (is(element, 'bpmn:Process') || is(element, 'bpmn:Participant')) {
    entries.push(
      number(element, 'target_days', 'Норма, днів (target_days)'),
      number(element, 'legal_days', 'За законом, днів (legal_days)'),
      select(element, 'calendar', 'Календар процесу', CALENDARS)
    );
  } else if (is(element, 'bpmn:Lane')) {
    entries.push(select(element, 'role', 'Роль доріжки', roleOptions(roles), 'Ключ ролі підрозділу (якщо порожньо — id доріжки)'));
  }
  return entries.length ? { id: 'marshrutCard', label: 'Картка', entries, component: Group } : null;
}

/** The provider: «Картка» (and «Учасники» for user tasks) first; ignored Camunda groups removed. */
export class CardPropertiesProvider {
  constructor(propertiesPanel, injector, config) {
    this._injector = injector;
    this._roles = (config && config.roles) || {};
    propertiesPanel.registerProvider(300, this);
  }

  getGroups(element) {
    return (groups) => {
      const kept = groups.filter((group) => !IGNORED_GROUPS.has(group.id));
      const card = cardGroup(element, this._roles);
      const added = [];
      if (card) {
        added.push(card);
      }
      if (is(element, 'bpmn:UserTask')) {
        added.push(participantsGroup(element, this._injector, this._roles));
      }
      const general = kept.findIndex((group) => group.id === 'general');
      kept.splice(general + 1, 0, ...added);
      return kept;
    };
  }
}
CardPropertiesProvider.$inject = ['propertiesPanel', 'injector', 'config.marshrut'];

export const cardPropertiesModule = {
  __init__: ['marshrutCardProperties'],
  marshrutCardProperties: ['type', CardPropertiesProvider]
};
