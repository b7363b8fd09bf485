import { describe, expect, it } from 'vitest';
import { ANY_VALUE, expandLabelKey, Label, LABEL_PREFIX, labelFilter, labelsFor, type RunIdentity } from '../../src/docker/labels.js';

const run: RunIdentity = {
  runId: 'r-20250101-abcd',
  scenario: 'smoke',
  version: '0.1.0',
  controllerPid: 4242,
  controllerStart: 1_700_000_000_123,
};

describe('labels', () => {
  it('labels: labelsFor gives run, role, scenario, version and controller pid/start', () => {
    expect(labelsFor(run, 'worker')).toEqual({
      'dev.keelhaul.run': 'r-20250101-abcd',
      'dev.keelhaul.role': 'worker',
      'dev.keelhaul.scenario': 'smoke',
      'dev.keelhaul.version': '0.1.0',
      'dev.keelhaul.controller.pid': '4242',
      'dev.keelhaul.controller.start': '1700000000123',
    });
  });

  it('labels: labelsFor leaves out task and attempt when they are not given', () => {
    const labels = labelsFor(run, 'network');
    expect(labels).not.toHaveProperty(Label.task);
    expect(labels).not.toHaveProperty(Label.attempt);
  });

  it('labels: labelsFor adds task and attempt (as a decimal string) when given', () => {
    const labels = labelsFor(run, 'worker', { task: 't-02', attempt: 3 });
    expect(labels[Label.task]).toBe('t-02');
    expect(labels[Label.attempt]).toBe('3');
  });

  it('labels: labelsFor adds only the task when no attempt is given', () => {
    const labels = labelsFor(run, 'workspace', { task: 't-01' });
    expect(labels[Label.task]).toBe('t-01');
    expect(labels).not.toHaveProperty(Label.attempt);
  });

  it('labels: every key labelsFor gives starts with dev.keelhaul.', () => {
    const keys = Object.keys(labelsFor(run, 'worker', { task: 't-01', attempt: 1 }));
    expect(keys).toHaveLength(8);
    for (const key of keys) expect(key.startsWith('dev.keelhaul.')).toBe(true);
  });

  it('labels: every key of Label starts with the prefix and keys are distinct', () => {
    const values = Object.values(Label);
    for (const key of values) expect(key.startsWith(`${LABEL_PREFIX}.`)).toBe(true);
    expect(new Set(values).size).toBe(values.length);
  });

  it('labels: expandLabelKey prefixes a short key', () => {
    expect(expandLabelKey('task')).toBe('dev.keelhaul.task');
    expect(expandLabelKey('role')).toBe(Label.role);
  });

  it('labels: expandLabelKey keeps a key that has a dot', () => {
    expect(expandLabelKey('com.example.team')).toBe('com.example.team');
    expect(expandLabelKey(Label.run)).toBe(Label.run);
  });

  it('labels: labelFilter turns each label into key=value', () => {
    expect(labelFilter({ [Label.run]: 'r1', [Label.role]: 'worker' })).toEqual(['dev.keelhaul.run=r1', 'dev.keelhaul.role=worker']);
  });

  it('labels: labelFilter turns ANY_VALUE into the bare key', () => {
    expect(labelFilter({ [Label.run]: ANY_VALUE, [Label.role]: 'probe' })).toEqual(['dev.keelhaul.run', 'dev.keelhaul.role=probe']);
  });

  it('labels: labelFilter of no labels is an empty list', () => {
    expect(labelFilter({})).toEqual([]);
  });
});
