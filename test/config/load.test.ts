import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deepMerge, findPreset, loadConfig, loadTextCacheConfig, parseCameraFlag, readVocabularyFile, resolveVocabulary, textCacheOptions } from '../../config/load.js';
import { ConfigError } from '../../src/errors.js';
import { flagsToConfig } from '../../src/cli/commands/run.js';
import { textCacheFromFlags } from '../../src/cli/flags.js';

const dir = mkdtempSync(path.join(tmpdir(), 'actionclip-config-'));
const write = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('loadConfig', () => {
  it('applies defaults, then the YAML file, then flags', () => {
    const file = write('a.yaml', 'weights: w.safetensors\nfps: 2\nlabels: [a, b]\nkafka: { brokers: [k:9092], framesTopic: f }\nbatching: { maxBatch: 4 }\n');
    const c = loadConfig({ file, overrides: { fps: 5 } });
    expect(c.fps).toBe(5);
    expect(c.weights).toBe(path.join(dir, 'w.safetensors')); // relative to the YAML file
    expect(c.batching).toEqual({ maxBatch: 4, maxWaitMs: 200, queueCapacity: 32 });
    expect(c.kafka?.groupId).toBe('actionclip-stream');
    expect(c.kafka?.deadLetterTopic).toBe('actionclip.frames.dlq');
    expect(c.window).toBe(8);
  });

  it('resolves a camera that is a relative file path from the YAML file; URLs and absolute paths stay', () => {
    const file = write('cams.yaml', 'weights: w\nlabels: [a]\ncameras: [{ id: f, url: clips/a.mp4 }, { id: r, url: "rtsp://h/x" }, { id: v, url: "v4l2:///dev/video0" }, { id: abs, url: /data/b.mp4 }]\n');
    expect(loadConfig({ file }).cameras.map((c) => c.url)).toEqual([path.join(dir, 'clips/a.mp4'), 'rtsp://h/x', 'v4l2:///dev/video0', '/data/b.mp4']);
  });

  it('names the offending key', () => {
    const file = write('b.yaml', 'weights: w\nlabels: [a]\nwindow: 12\nsupervision: { backoff: { jitter: 2 } }\ncameras: [{ id: "bad id", url: x }]\n');
    expect(() => loadConfig({ file })).toThrow(ConfigError);
    try {
      loadConfig({ file });
    } catch (err) {
      const m = (err as Error).message;
      expect(m).toContain('window:');
      expect(m).toContain('supervision.backoff.jitter');
      expect(m).toContain('cameras[0].id');
    }
  });

  it('rejects unknown keys, stride > window, duplicate cameras and a missing weights file', () => {
    expect(() => loadConfig({ overrides: { weights: 'w', labels: ['a'], widnow: 8 } })).toThrow(/widnow/);
    expect(() => loadConfig({ overrides: { weights: 'w', labels: ['a'], window: 8, stride: 9 } })).toThrow(/stride/);
    expect(() => loadConfig({ overrides: { weights: 'w', labels: ['a'], cameras: [{ id: 'a', url: 'x' }, { id: 'a', url: 'y' }] } })).toThrow(/cameras\[1\]\.id: duplicate/);
    expect(() => loadConfig({ overrides: { labels: ['a'] } })).toThrow(/weights/);
  });

  it('reports YAML syntax errors and unreadable files as ConfigError', () => {
    expect(() => loadConfig({ file: write('c.yaml', 'weights: [unclosed\n') })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ file: path.join(dir, 'missing.yaml') })).toThrow(/cannot read config file/);
  });

  it('maps CLI flags onto the config shape', () => {
    const o = flagsToConfig({ camera: ['door=rtsp://u:p@h/s?x=1', 'yard=file.mp4'], weights: 'w', labels: 'a, b ,c', window: '16', stride: 'x', kafka: 'a:1,b:2', detectionsTopic: 'det' });
    const c = () => loadConfig({ overrides: o });
    expect(c).toThrow(/stride/);
    const ok = loadConfig({ overrides: { ...o, stride: 8 } });
    expect(ok.cameras).toEqual([{ id: 'door', url: 'rtsp://u:p@h/s?x=1' }, { id: 'yard', url: 'file.mp4' }]);
    expect(ok.labels).toEqual(['a', 'b', 'c']);
    expect(ok.window).toBe(16);
    expect(ok.kafka?.brokers).toEqual(['a:1', 'b:2']);
    expect(ok.kafka?.detectionsTopic).toBe('det');
  });

  it('text cache: on by default, a YAML dir relative to the file, flags to turn it off or bound it', () => {
    expect(loadConfig({ overrides: { weights: 'w' } }).textCache).toEqual({ enabled: true, maxMB: 256 });
    const file = write('cache.yaml', 'weights: w\ntextCache: { dir: cache/text, maxMB: 64 }\n');
    const fromFile = loadConfig({ file });
    expect(fromFile.textCache).toEqual({ enabled: true, dir: path.join(dir, 'cache', 'text'), maxMB: 64 });
    expect(textCacheOptions(fromFile.textCache)).toEqual({ dir: path.join(dir, 'cache', 'text'), maxBytes: 64 * 2 ** 20 });
    const off = loadConfig({ file, overrides: flagsToConfig({ camera: [], textCache: false }) });
    expect(textCacheOptions(off.textCache)).toBe(false);
    expect(loadConfig({ overrides: flagsToConfig({ camera: [], weights: 'w', textCacheMaxMb: '8', textCacheDir: '/x' }) }).textCache).toEqual({ enabled: true, dir: '/x', maxMB: 8 });
    expect(flagsToConfig({ camera: [], textCache: true }).textCache).toBeUndefined();
    expect(() => flagsToConfig({ camera: [], textCacheMaxMb: '-1' })).toThrow(/--text-cache-max-mb must be a positive number, got "-1"/);
    expect(() => loadTextCacheConfig({ maxMB: 0 })).toThrow(/text cache options: maxMB/);
    expect(loadTextCacheConfig()).toEqual({ enabled: true, maxMB: 256 });
    // classify and eval have no service config: their flags go straight to loadModel's option.
    expect(textCacheFromFlags({ textCache: false })).toBe(false);
    expect(textCacheFromFlags({ textCache: true, textCacheMaxMb: '8' })).toEqual({ dir: undefined, maxBytes: 8 * 2 ** 20 });
  });

  it('parseCameraFlag needs ID=URL and never echoes credentials', () => {
    expect(() => parseCameraFlag('rtsp://user:pw@host/x')).toThrow(ConfigError);
    try {
      parseCameraFlag('rtsp://user:pw@host/x');
    } catch (err) {
      expect((err as Error).message).not.toContain('pw');
    }
  });

  it('deepMerge ignores undefined and replaces arrays', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: undefined, c: 3 }, l: [2] })).toEqual({ a: { b: 1, c: 3 }, l: [2] });
  });
});

describe('vocabularies', () => {
  it('reads txt, csv (id,name), json and yaml files', () => {
    expect(readVocabularyFile(write('v.txt', '# c\nwalk\n\nrun\n')).labels).toEqual(['walk', 'run']);
    expect(readVocabularyFile(write('v.csv', 'id,name\n0,brush hair\n1,cartwheel\n')).labels).toEqual(['brush hair', 'cartwheel']);
    expect(readVocabularyFile(write('v.json', '{"labels":["a"],"templates":["a video of {}"]}'))).toEqual({ labels: ['a'], templates: ['a video of {}'] });
    expect(readVocabularyFile(write('v.yaml', '- a\n- b\n')).labels).toEqual(['a', 'b']);
    expect(() => readVocabularyFile(write('e.txt', '\n'))).toThrow(/labels/);
  });

  it('finds presets by name (case, - and _ ignored) and lists them when not found', () => {
    const presets = path.join(dir, 'presets');
    mkdirSync(presets, { recursive: true });
    writeFileSync(path.join(presets, 'ucf101.csv'), 'id,name\n0,ApplyEyeMakeup\n');
    expect(findPreset('UCF-101', [presets])).toBe(path.join(presets, 'ucf101.csv'));
    expect(resolveVocabulary({ vocabulary: 'ucf_101' }, [presets]).labels).toEqual(['ApplyEyeMakeup']);
    expect(() => resolveVocabulary({ vocabulary: 'nope' }, [presets])).toThrow(/presets: ucf101/);
    expect(resolveVocabulary({ labels: ['x'], templates: ['{}!'] }, [presets])).toEqual({ labels: ['x'], templates: ['{}!'] });
    expect(() => resolveVocabulary({}, [presets])).toThrow(ConfigError);
  });
});
