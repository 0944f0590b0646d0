// How an editor page (the modeler, the decision tables) starts: once the document is ready, and
// with a failure to load shown on the page rather than lost in the console.

export async function openOrShowError(root, page) {
  try {
    await page.open();
  } catch (error) {
    root.dataset.state = 'error';
    page.setStatus('error', error.message || String(error));
  }
}

export function whenReady(start) {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}
