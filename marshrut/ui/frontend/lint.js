// bpmnlint in the modeler with the project's own rules (SPEC §4 conventions), marking the
// elements live as the analyst edits. The server's validation (engine.validation) stays the
// gate for deploying; these rules catch the same mistakes before a round trip:
//   marshrut/lane-role     every user task in a lane whose role is known (or declared new_role)
//   marshrut/action-code   action В/У/П/З in Cyrillic (a Latin B/Y/P/3 is named)
//   marshrut/step-limit    days (whole number) or deadline; days_min ≤ days
//   marshrut/participants  participants "role:дія" with known roles and codes

import { is } from 'bpmn-js/lib/util/ModelUtil';

const ACTIONS = ['В', 'У', 'П', 'З'];
const LATIN = { B: 'В', Y: 'У', P: 'П', 3: 'З' };
const DEADLINES = ['target', 'legal', 'year_end'];

function props(bo) {
  const extensions = bo.extensionElements && bo.extensionElements.values || [];
  const container = extensions.find((value) => is(value, 'camunda:Properties'));
  const result = {};
  for (const property of (container && container.values) || []) {
    if (property.name) {
      result[property.name] = (property.value || '').trim();
    }
  }
  return result;
}

function lanesOf(process) {
  const byNode = new Map();
  const declared = new Set();
  const visit = (laneSet) => {
    for (const lane of (laneSet && laneSet.lanes) || []) {
      const laneProps = props(lane);
      const role = laneProps.role || lane.id;
      if (laneProps.new_role === 'true' && /^[a-z][a-z0-9_]{1,59}$/.test(role)) {
        declared.add(role);
      }
      for (const node of lane.flowNodeRef || []) {
        byNode.set(node.id, { lane, role });
      }
      visit(lane.childLaneSet);
    }
  };
  for (const laneSet of process.laneSets || []) {
    visit(laneSet);
  }
  return { byNode, declared };
}

function userTasks(process) {
  return (process.flowElements || []).filter((element) => is(element, 'bpmn:UserTask'));
}

export function actionProblem(action) {
  if (!action) {
    return 'Не вказано дію: оберіть В, У, П або З у розділі «Картка»';
  }
  if (LATIN[action]) {
    return `Дія «${action}» набрана латиницею: замініть на кириличну «${LATIN[action]}»`;
  }
  return ACTIONS.includes(action) ? null : `Невідома дія «${action}»: допустимі В, У, П, З`;
}

function processRule(checkTask) {
  return (config = {}) => ({
    check(node, reporter) {
      if (!is(node, 'bpmn:Process')) {
        return;
      }
      const lanes = lanesOf(node);
      const known = new Set([...(config.roles || []), ...lanes.declared]);
      for (const task of userTasks(node)) {
        for (const message of checkTask(task, props(task), lanes, known)) {
          reporter.report(task.id, message);
        }
      }
    }
  });
}

const RULES = {
  'lane-role': processRule((task, _props, lanes, known) => {
    const found = lanes.byNode.get(task.id);
    if (!found) {
      return ['Завдання поза доріжкою: перенесіть його в доріжку відповідального підрозділу'];
    }
    return known.has(found.role) ? [] : [`Доріжка «${found.lane.name || found.lane.id}» має невідому роль «${found.role}»`];
  }),
  'action-code': processRule((_task, values) => {
    const problem = actionProblem(values.action);
    return problem ? [problem] : [];
  }),
  'step-limit': processRule((_task, values) => {
    const problems = [];
    for (const name of ['days', 'days_min']) {
      if (values[name] && !/^\d+$/.test(values[name])) {
        problems.push(`${name} має бути цілим числом днів, а не «${values[name]}»`);
      }
    }
    if (values.deadline && !DEADLINES.includes(values.deadline)) {
      problems.push(`deadline: target, legal або year_end, а не «${values.deadline}»`);
    }
    if (!values.days && !values.deadline) {
      problems.push('Не вказано строк: days (днів) або deadline');
    }
    if (values.days_min && !values.days) {
      problems.push('days_min без days: вкажіть верхню межу строку');
    } else if (values.days_min && Number(values.days_min) > Number(values.days)) {
      problems.push(`days_min (${values.days_min}) більше за days (${values.days})`);
    }
    return problems;
  }),
  participants: processRule((_task, values, _lanes, known) => {
    const problems = [];
    for (const part of (values.participants || '').split(',').map((p) => p.trim()).filter(Boolean)) {
      const [role, action] = part.split(':').map((s) => (s || '').trim());
      if (!known.has(role)) {
        problems.push(`Невідома роль учасника «${role}»`);
      }
      const problem = action ? actionProblem(action) : null;
      if (problem) {
        problems.push(`Учасник ${role}: ${problem}`);
      }
    }
    return problems;
  })
};

/** The linter configuration bpmn-js-bpmnlint expects: `{ config, resolver }`. */
export function lintConfig(roles) {
  const rules = {};
  for (const name of Object.keys(RULES)) {
    rules[`marshrut/${name}`] = ['error', { roles }];
  }
  return {
    config: { rules },
    resolver: {
      resolveRule(_pkg, ruleName) {
        const rule = RULES[ruleName];
        if (!rule) {
          throw new Error(`unknown rule ${ruleName}`);
        }
        return rule;
      },
      resolveConfig() {
        throw new Error('no shared configs');
      }
    }
  };
}
