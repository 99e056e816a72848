// A minimal stand-in for the `vscode` module, only to time require() + activate()
// of the built bundle in plain Node (bench/extension.ts). Real-host timing needs a
// real VS Code; this measures the bundle's own start-up work.
const noop = () => ({ dispose() {} });
class EventEmitter {
  constructor() {
    this.event = () => noop();
  }
  fire() {}
  dispose() {}
}
const item = () => ({ show() {}, hide() {}, dispose() {}, text: '', tooltip: '', command: '', name: '' });
const memento = () => {
  const m = new Map();
  return {
    get: (k) => m.get(k),
    update: async (k, v) => {
      m.set(k, v);
    },
    keys: () => [...m.keys()],
  };
};
module.exports = {
  EventEmitter,
  StatusBarAlignment: { Left: 1, Right: 2 },
  ThemeColor: class {},
  ThemeIcon: class {},
  MarkdownString: class {
    constructor(v) {
      this.value = v;
    }
  },
  TreeItem: class {},
  ViewColumn: { Beside: -2 },
  ProgressLocation: { Notification: 15, Window: 10 },
  QuickPickItemKind: { Separator: -1 },
  Uri: { parse: (s) => ({ toString: () => s }), joinPath: (u, ...p) => ({ toString: () => [u, ...p].join('/') }) },
  window: {
    createOutputChannel: () => ({ info() {}, warn() {}, error() {}, show() {}, dispose() {} }),
    createStatusBarItem: item,
    registerTreeDataProvider: noop,
    onDidChangeWindowState: noop,
    state: { focused: true },
    setStatusBarMessage: noop,
  },
  commands: { registerCommand: noop, executeCommand: async () => undefined },
  workspace: { onDidChangeConfiguration: noop, getConfiguration: () => ({ get: (_k, d) => d }) },
  authentication: { onDidChangeSessions: noop, getSession: async () => undefined },
  extensions: { getExtension: () => undefined },
  env: { openExternal: async () => true },
  __context: () => ({
    subscriptions: [],
    globalState: memento(),
    secrets: { get: async () => undefined, store: async () => undefined, delete: async () => undefined },
    extensionUri: { toString: () => '/ext' },
  }),
};
