// Ukrainian labels for the modeler's palette, context pad and properties panel (bpmn-js's
// `translate` service). Strings not listed stay in English, as bpmn-js ships them.

const UK = {
  // palette
  'Activate hand tool': 'Рука: переміщення полотна',
  'Activate lasso tool': 'Ласо: виділення',
  'Activate create/remove space tool': 'Додати/прибрати простір',
  'Activate global connect tool': 'З\u02bcєднати елементи',
  'Create start event': 'Початкова подія',
  'Create intermediate/boundary event': 'Проміжна/гранична подія',
  'Create end event': 'Кінцева подія',
  'Create gateway': 'Шлюз',
  'Create task': 'Задача',
  'Create expanded sub-process': 'Розгорнутий підпроцес',
  'Create data object reference': 'Об\u02bcєкт даних',
  'Create data store reference': 'Сховище даних',
  'Create group': 'Група',
  'Create pool/participant': 'Пул/учасник',
  // context pad
  'Append task': 'Додати задачу',
  'Append end event': 'Додати кінцеву подію',
  'Append gateway': 'Додати шлюз',
  'Append intermediate/boundary event': 'Додати проміжну подію',
  'Append timer intermediate catch event': 'Додати таймер',
  'Add text annotation': 'Додати примітку',
  'Add lane above': 'Додати доріжку вище',
  'Add lane below': 'Додати доріжку нижче',
  'Divide into two lanes': 'Поділити на дві доріжки',
  'Divide into three lanes': 'Поділити на три доріжки',
  'Change element': 'Змінити тип елемента',
  'Connect using sequence flow': 'З\u02bcєднати потоком',
  'Connect to other element': 'З\u02bcєднати з іншим елементом',
  'Connect using association': 'З\u02bcєднати асоціацією',
  'Delete': 'Видалити',
  'Search in diagram': 'Пошук у діаграмі',
  // properties panel
  'General': 'Загальне',
  'Name': 'Назва',
  'ID': 'Ідентифікатор',
  'Documentation': 'Документація',
  'Element documentation': 'Опис елемента',
  'Process documentation': 'Опис процесу',
  'Process name': 'Назва процесу',
  'Process ID': 'Ідентифікатор процесу',
  'Executable': 'Виконуваний',
  'Version tag': 'Мітка версії',
  'Extension properties': 'Властивості кроку',
  'Properties': 'Властивості',
  'Value': 'Значення',
  'Values': 'Значення',
  'Create': 'Додати',
  'Create new list item': 'Додати елемент',
  'Delete item': 'Видалити елемент',
  'Toggle list item': 'Розгорнути/згорнути',
  'Toggle section': 'Розгорнути/згорнути розділ',
  'Section contains edits': 'Розділ містить зміни',
  'Section contains an error': 'Розділ містить помилку',
  '<empty>': '<порожньо>',
  '<none>': '<немає>',
  'Inputs': 'Вхідні дані',
  'Outputs': 'Вихідні дані',
  'Forms': 'Форми',
  'Form': 'Форма',
  'User assignment': 'Призначення виконавця',
  'Asynchronous continuations': 'Асинхронне продовження',
  'Job execution': 'Виконання завдань',
  'Execution listeners': 'Слухачі виконання',
  'Task listeners': 'Слухачі задачі',
  'Multi-instance': 'Багатоекземплярність',
  'Timer': 'Таймер',
  'Condition': 'Умова',
  'Condition expression': 'Вираз умови',
  'Type': 'Тип',
  'Implementation': 'Реалізація',
  'Script': 'Скрипт',
  'Message': 'Повідомлення',
  'Signal': 'Сигнал',
  'Error': 'Помилка',
  'Escalation': 'Ескалація',
  'Date': 'Дата',
  'Duration': 'Тривалість',
  'Cycle': 'Цикл'
};

export function translate(template, replacements) {
  const values = replacements || {};
  const text = UK[template] || template;
  return text.replace(/{([^}]+)}/g, (whole, key) => (key in values ? values[key] : whole));
}

export const translateModule = {
  translate: [ 'value', translate ]
};
