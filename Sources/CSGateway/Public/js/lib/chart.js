// A horizontal bar chart as inline SVG (no library). Labels are SVG text nodes, never markup.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (text != null) el.textContent = String(text);
  return el;
}

/**
 * @param {{label: string, value: number, display?: string}[]} bars
 * @param {{title: string, max?: number, color?: string}} options
 */
export function barChart(bars, { title, max, color = '#1f5fbf' }) {
  const rowHeight = 28;
  const labelWidth = 130;
  const barWidth = 260;
  const height = Math.max(1, bars.length) * rowHeight + 8;
  const top = max ?? Math.max(1, ...bars.map((bar) => bar.value));
  const chart = svg('svg', { viewBox: `0 0 ${labelWidth + barWidth + 60} ${height}`, role: 'img', 'aria-label': title, class: 'bar-chart' });
  chart.append(svg('title', {}, title));
  bars.forEach((bar, index) => {
    const y = index * rowHeight + 4;
    const width = top > 0 ? (bar.value / top) * barWidth : 0;
    const label = bar.label.length > 18 ? `${bar.label.slice(0, 17)}…` : bar.label;
    chart.append(
      svg('text', { x: labelWidth - 8, y: y + 17, 'text-anchor': 'end', class: 'chart-label' }, label),
      svg('rect', { x: labelWidth, y: y + 4, width: Math.max(width, 1), height: rowHeight - 10, rx: 3, fill: color }),
      svg('text', { x: labelWidth + width + 6, y: y + 17, class: 'chart-value' }, bar.display ?? bar.value));
  });
  if (!bars.length) chart.append(svg('text', { x: 8, y: 20, class: 'chart-label' }, 'No data'));
  return chart;
}
