// A strict reader of the Prometheus text exposition format (0.0.4), for tests of GET
// /metrics. Hand-written because the one npm parser of the format on offer
// (parse-prometheus-text-format 1.1.1) drops the labels, sum and count of a labelled
// histogram. It throws on any line that is not a valid comment, HELP, TYPE or sample,
// on a sample outside its family, and on a histogram whose buckets do not add up.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
// Inf and NaN in any case, as Prometheus' own reader (Go's strconv.ParseFloat) takes them: prom-client writes "Nan".
const VALUE = '([+-]?(?:[Ii][Nn][Ff]|[Nn][Aa][Nn]|[0-9]*\\.?[0-9]+(?:[eE][+-]?[0-9]+)?))';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}(?:,${LABEL})*)?,?)\\})? ${VALUE}(?: -?[0-9]+)?$`);
const LABELS = new RegExp(LABEL, 'g');
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

const unescape = (v: string) => v.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
const number = (v: string) =>
  /^[+-]?inf$/i.test(v) ? (v.startsWith('-') ? -Infinity : Infinity) : /^[+-]?nan$/i.test(v) ? NaN : Number(v);

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const familyOf = (name: string) => families.get(name) ?? families.set(name, { name, type: 'untyped', help: '', samples: [] }).get(name)!;
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      const family = familyOf(name);
      if (family.samples.length) throw new Error(`${kind} after the family's samples, ${where}`);
      if (kind === 'HELP') family.help = unescape(rest);
      else if (/^(counter|gauge|histogram|summary|untyped)$/.test(rest)) family.type = rest as Family['type'];
      else throw new Error(`unknown type, ${where}`);
      current = family;
      return;
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const name = m[1] ?? '';
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABELS)) {
      if (l[1] === undefined || l[1] in labels) throw new Error(`repeated label, ${where}`);
      labels[l[1]] = unescape(l[2] ?? '');
    }
    const family = current && SUFFIXES[current.type].some((s) => `${current?.name}${s}` === name) ? current : undefined;
    if (!family) throw new Error(`a sample outside its family (${current?.name ?? 'none'}), ${where}`);
    family.samples.push({ name, labels, value: number(m[m.length - 1] ?? '') });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Buckets rise with `le`, and +Inf holds as many as _count. */
function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of f.samples) {
    if (s.name !== `${f.name}_bucket`) continue;
    const { le, ...rest } = s.labels;
    if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, buckets] of series) {
    const sorted = [...buckets].sort((a, b) => number(a.labels.le ?? '') - number(b.labels.le ?? ''));
    sorted.forEach((b, i) => {
      if (i > 0 && b.value < (sorted[i - 1]?.value ?? 0)) throw new Error(`${f.name} ${key}: buckets fall`);
    });
    const inf = sorted.at(-1);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
    if (inf?.labels.le !== '+Inf' || count?.value !== inf.value) throw new Error(`${f.name} ${key}: +Inf bucket and _count differ`);
  }
}

/** The value of the sample `name` whose labels include `labels` (undefined: no such sample). */
export function valueOf(
  families: Map<string, Family>,
  family: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return families.get(family)?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
