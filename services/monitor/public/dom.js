// Small DOM and formatting helpers. Everything user-provided goes through
// textContent, never innerHTML.

/** Create an element: h('td', { class: 'num' }, '42', child...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replace the children of `el`. */
export function fill(el, children) {
  el.replaceChildren(...children);
}

export function badge(text, kind = text) {
  return h('span', { class: `badge ${kind}` }, text);
}

const nf = new Intl.NumberFormat();
export function num(n) {
  return n === undefined || n === null ? '–' : nf.format(n);
}

export function rate(n) {
  if (!n) return '0';
  return n >= 10 ? nf.format(Math.round(n)) : n.toFixed(n >= 1 ? 1 : 2);
}

export function ago(ms) {
  if (ms === undefined || ms === null) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

/** A duration to a readable precision: `850 ms`, `4.2 s`, `3m 5s`; '–' for none. */
export function duration(ms) {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return ago(ms);
}

export function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

export function dateTime(at) {
  return at ? new Date(at).toLocaleString([], { hour12: false }) : '–';
}

export function emptyRow(cols, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: cols }, text));
}
