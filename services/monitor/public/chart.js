// A stacked column chart on a canvas (succeeded below, failed attempts on
// top), sized to its box and redrawn on demand.

export function drawTimeline(canvas, { succeeded, failed }) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const color = (name) => style.getPropertyValue(name).trim();
  const n = succeeded.length;
  const max = Math.max(1, ...succeeded.map((s, i) => s + (failed[i] ?? 0)));
  const pad = { top: 8, bottom: 18, left: 40, right: 6 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const y = (v) => pad.top + hgt - (hgt * v) / max;

  ctx.strokeStyle = color('--line');
  ctx.fillStyle = color('--muted');
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  for (const v of [0, max / 2, max]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y(v)) + 0.5);
    ctx.lineTo(width - pad.right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(String(Math.round(v)), 4, y(v) + 4);
  }
  ctx.fillText('10 min ago', pad.left, height - 4);
  ctx.fillText('now', width - pad.right - 22, height - 4);

  const slot = w / n;
  const bar = Math.max(1, slot - 2);
  for (let i = 0; i < n; i++) {
    const x = pad.left + i * slot + 1;
    const ok = succeeded[i] ?? 0;
    const bad = failed[i] ?? 0;
    ctx.fillStyle = color('--ok');
    ctx.fillRect(x, y(ok), bar, y(0) - y(ok));
    ctx.fillStyle = color('--bad');
    ctx.fillRect(x, y(ok + bad), bar, y(ok) - y(ok + bad));
  }
}
