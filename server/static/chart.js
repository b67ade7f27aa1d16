// A line chart as inline SVG, with the same numbers in a table beside it for people who do not
// read charts (screen readers, exact values). Lines differ by colour, dash and marker shape, so
// colour is never the only way to tell them apart. No library: the charts here are small.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 24, bottom: 32, left: 56 };
// Each at least 4.5:1 against white, so lines and their legend text stay legible.
const STYLES = [
  { colour: "#0b57d0", dash: "", marker: "circle" },
  { colour: "#a50e0e", dash: "6 3", marker: "square" },
  { colour: "#137333", dash: "2 3", marker: "diamond" },
  { colour: "#7a4b00", dash: "10 4", marker: "circle" },
  { colour: "#6a1b9a", dash: "4 2 1 2", marker: "square" },
  { colour: "#3c4043", dash: "1 2", marker: "diamond" },
];

function svg(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function marker(shape, x, y, colour) {
  if (shape === "square") return svg("rect", { x: x - 3.5, y: y - 3.5, width: 7, height: 7, fill: colour });
  if (shape === "diamond") {
    return svg("polygon", { points: `${x},${y - 5} ${x + 5},${y} ${x},${y + 5} ${x - 5},${y}`, fill: colour });
  }
  return svg("circle", { cx: x, cy: y, r: 3.5, fill: colour });
}

function niceMax(values, fixedMax) {
  if (fixedMax !== undefined) return fixedMax;
  const top = Math.max(1, ...values.filter((v) => v !== null));
  const step = 10 ** Math.floor(Math.log10(top));
  return Math.ceil(top / step) * step;
}

function format(value, digits) {
  return value === null ? "–" : digits ? value.toFixed(digits) : String(value);
}

function dataTable(caption, buckets, series, digits) {
  const table = document.createElement("table");
  table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  for (const name of ["Period starting", ...series.map((line) => line.name)]) {
    const cell = document.createElement("th");
    cell.scope = "col";
    cell.textContent = name;
    head.append(cell);
  }
  const body = table.createTBody();
  buckets.forEach((bucket, at) => {
    const row = body.insertRow();
    const label = document.createElement("th");
    label.scope = "row";
    label.textContent = bucket;
    row.append(label);
    for (const line of series) row.insertCell().textContent = format(line.values[at], digits);
  });
  return table;
}

// `series`: [{name, values}] with one value (or null, drawn as a gap) per bucket.
export function lineChart({ id, title, buckets, series, yLabel, yMax, digits = 0 }) {
  const figure = document.createElement("figure");
  figure.id = id;
  const caption = document.createElement("figcaption");
  caption.id = `${id}-title`;
  caption.textContent = title;
  const width = WIDTH - MARGIN.left - MARGIN.right;
  const height = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = niceMax(series.flatMap((line) => line.values), yMax);
  const x = (at) => MARGIN.left + (buckets.length < 2 ? width / 2 : (at * width) / (buckets.length - 1));
  const y = (value) => MARGIN.top + height - (value / top) * height;
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-labelledby": caption.id,
    class: "chart",
  });
  for (const tick of [0, 0.5, 1]) {
    const level = y(top * tick);
    chart.append(svg("line", { x1: MARGIN.left, x2: MARGIN.left + width, y1: level, y2: level, class: "grid" }));
    chart.append(svg("text", { x: MARGIN.left - 8, y: level + 4, "text-anchor": "end" }, format(top * tick, digits)));
  }
  chart.append(svg("text", { x: 14, y: MARGIN.top + height / 2, transform: `rotate(-90 14 ${MARGIN.top + height / 2})`, "text-anchor": "middle" }, yLabel));
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((bucket, at) => {
    if (at % labelEvery === 0) {
      chart.append(svg("text", { x: x(at), y: HEIGHT - MARGIN.bottom + 18, "text-anchor": "middle" }, bucket));
    }
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  series.forEach((line, n) => {
    const style = STYLES[n % STYLES.length];
    const points = [];
    let drawing = false;
    line.values.forEach((value, at) => {
      if (value === null) {
        drawing = false; // a gap: no data in this bucket
        return;
      }
      points.push(`${drawing ? "L" : "M"}${x(at)},${y(value)}`);
      drawing = true;
      chart.append(marker(style.marker, x(at), y(value), style.colour));
    });
    chart.append(svg("path", { d: points.join(" "), fill: "none", stroke: style.colour, "stroke-width": 2, "stroke-dasharray": style.dash }));
    const sample = svg("svg", { width: 36, height: 12, "aria-hidden": "true" });
    sample.append(svg("line", { x1: 0, x2: 36, y1: 6, y2: 6, stroke: style.colour, "stroke-width": 2, "stroke-dasharray": style.dash }));
    sample.append(marker(style.marker, 18, 6, style.colour));
    const item = document.createElement("li");
    item.append(sample, document.createTextNode(` ${line.name}`));
    legend.append(item);
  });
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `${title}: the numbers`;
  details.append(summary, dataTable(title, buckets, series, digits));
  figure.append(caption, chart, legend, details);
  return figure;
}
