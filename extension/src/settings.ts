/**
 * Extension settings → the `overrides` of `nnevolve.evolve`.
 *
 * Only settings the user set explicitly (in user, workspace or folder settings) become
 * overrides, so `[tool.nnevolve]` in the workspace's pyproject.toml stays the default below
 * them. Kept free of the `vscode` module so it can be tested in plain Node.
 */

/** What `WorkspaceConfiguration.inspect` returns, reduced to the scopes a user writes. */
export interface SettingValues<T = unknown> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
  globalLanguageValue?: T;
  workspaceLanguageValue?: T;
  workspaceFolderLanguageValue?: T;
}

/** Reads one `nnevolve.*` setting's explicit values (undefined when it has none). */
export type InspectSetting = (key: string) => SettingValues | undefined;

export const OBJECTIVES = ['error', 'params', 'latency'] as const;

export interface Overrides {
  dataset?: string;
  generations?: number;
  population?: number;
  epochs?: number;
  objectives?: string[];
  workers?: number;
  max_evals?: number;
  time?: string;
  seed?: number;
  device?: string;
  workers_per_device?: number;
  amp?: boolean;
  evolve_training?: boolean;
  screening?: string;
  cluster?: string;
}

export interface OverridesResult {
  overrides: Overrides;
  /** One sentence per setting that was set but could not be used. */
  problems: string[];
}

interface Rule {
  setting: string; // key under `nnevolve.`
  override: keyof Overrides; // key the server reads
  read: (value: unknown) => { value: unknown } | { problem: string };
}

function integer(minimum: number | undefined): Rule['read'] {
  return (value) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return { problem: `must be a whole number, not ${JSON.stringify(value)}` };
    }
    if (minimum !== undefined && value < minimum) {
      return { problem: `must be at least ${minimum}, not ${value}` };
    }
    return { value };
  };
}

function nonEmptyString(value: unknown): { value: unknown } | { problem: string } {
  if (typeof value !== 'string' || value.trim() === '') {
    return { problem: `must be a data set name such as "digits", not ${JSON.stringify(value)}` };
  }
  return { value: value.trim() };
}

const DEVICE = /^(auto|cpu|cuda(:\d+)?)$/;

function deviceName(value: unknown): { value: unknown } | { problem: string } {
  if (typeof value !== 'string' || !DEVICE.test(value.trim())) {
    return { problem: `must be auto, cpu, cuda or cuda:N, not ${JSON.stringify(value)}` };
  }
  return { value: value.trim() };
}

function onOff(value: unknown): { value: unknown } | { problem: string } {
  if (typeof value !== 'boolean') {
    return { problem: `must be true or false, not ${JSON.stringify(value)}` };
  }
  return { value };
}

const SCREENING = ['auto', 'on', 'off'] as const;

function screeningMode(value: unknown): { value: unknown } | { problem: string } {
  if (typeof value !== 'string' || !(SCREENING as readonly string[]).includes(value.trim())) {
    return { problem: `must be ${SCREENING.join(', ')}, not ${JSON.stringify(value)}` };
  }
  return { value: value.trim() };
}

function clusterAddress(value: unknown): { value: unknown } | { problem: string } {
  if (typeof value !== 'string' || value.trim() === '') {
    return { problem: `must be a Dask scheduler address such as "tcp://host:8786", not ${JSON.stringify(value)}` };
  }
  return { value: value.trim() };
}

// what the engine's parse_duration reads: 90s, 10m, 1h, 1h30m, 2.5m, or a number of seconds
const DURATION = /^(?=.*\d)(\d+(\.\d*)?h)?\s*(\d+(\.\d*)?m(in)?)?\s*(\d+(\.\d*)?s)?$|^\d+(\.\d*)?$/i;

function duration(value: unknown): { value: unknown } | { problem: string } {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!DURATION.test(text) || !/[1-9]/.test(text)) {
    return { problem: `must be a duration such as "90s", "10m" or "1h30m", not ${JSON.stringify(value)}` };
  }
  return { value: text };
}

function objectiveList(value: unknown): { value: unknown } | { problem: string } {
  const known = OBJECTIVES as readonly string[];
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && known.includes(v))) {
    return { problem: `must be a non-empty list of ${OBJECTIVES.join(', ')}, not ${JSON.stringify(value)}` };
  }
  return { value: [...new Set(value as string[])] };
}

const RULES: readonly Rule[] = [
  { setting: 'dataset', override: 'dataset', read: nonEmptyString },
  { setting: 'generations', override: 'generations', read: integer(1) },
  { setting: 'population', override: 'population', read: integer(2) },
  { setting: 'epochs', override: 'epochs', read: integer(1) },
  { setting: 'objectives', override: 'objectives', read: objectiveList },
  { setting: 'workers', override: 'workers', read: integer(1) },
  { setting: 'maxEvals', override: 'max_evals', read: integer(1) },
  { setting: 'time', override: 'time', read: duration },
  { setting: 'seed', override: 'seed', read: integer(undefined) },
  { setting: 'device', override: 'device', read: deviceName },
  { setting: 'workersPerDevice', override: 'workers_per_device', read: integer(1) },
  { setting: 'amp', override: 'amp', read: onOff },
  { setting: 'evolveTraining', override: 'evolve_training', read: onOff },
  { setting: 'screening', override: 'screening', read: screeningMode },
  { setting: 'cluster', override: 'cluster', read: clusterAddress },
];

/** The value the user set in the most specific scope; null counts as not set. */
export function explicitValue(values: SettingValues | undefined): unknown {
  if (!values) {
    return undefined;
  }
  const scopes = [
    values.workspaceFolderLanguageValue,
    values.workspaceFolderValue,
    values.workspaceLanguageValue,
    values.workspaceValue,
    values.globalLanguageValue,
    values.globalValue,
  ];
  return scopes.find((value) => value !== undefined && value !== null);
}

/** The overrides for a run, and a problem for every explicit setting that is unusable. */
export function overridesFromSettings(inspect: InspectSetting): OverridesResult {
  const overrides: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const rule of RULES) {
    const value = explicitValue(inspect(rule.setting));
    if (value === undefined) {
      continue;
    }
    const read = rule.read(value);
    if ('problem' in read) {
      problems.push(`nnevolve.${rule.setting} ${read.problem}; it is ignored.`);
    } else {
      overrides[rule.override] = read.value;
    }
  }
  return { overrides: overrides as Overrides, problems };
}

/**
 * The argument object of `nnevolve.evolve` with settings merged in.
 *
 * Overrides the caller passed (a code lens, another extension) win over settings.
 */
export function withSettingOverrides(args: unknown, fromSettings: Overrides): unknown {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return args;
  }
  const given = args as { overrides?: unknown };
  const explicit = typeof given.overrides === 'object' && given.overrides !== null ? given.overrides : {};
  return { ...given, overrides: { ...fromSettings, ...explicit } };
}
