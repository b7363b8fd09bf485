/** Resource names (src/docker/names.ts): the one home of `kh-<run>-…`. */
import { describe, expect, it } from 'vitest';
import {
  attemptName,
  isolationProbeName,
  runNetworkName,
  topologyResourceName,
  workspaceGeneration,
  workspaceListerName,
  workspaceSnapshotName,
  workspaceVolumeName,
} from '../../src/docker/index.js';

const RUN = '20261207-221500-3fa9';

describe('resource names', () => {
  it('names: each resource kind has its documented form', () => {
    expect(runNetworkName(RUN)).toBe(`kh-${RUN}`);
    expect(attemptName(RUN, 't-01', 2)).toBe(`kh-${RUN}-t-01-a2`);
    expect(workspaceListerName(RUN, 't-01', 2)).toBe(`kh-${RUN}-t-01-a2-ls`);
    expect(isolationProbeName(RUN, 't-01', 2, 'lx3k')).toBe(`kh-${RUN}-t-01-a2-probe-lx3k`);
    expect(workspaceVolumeName(RUN, 't-01')).toBe(`kh-${RUN}-t-01`);
    expect(workspaceVolumeName(RUN, 't-01', 3)).toBe(`kh-${RUN}-t-01-w3`);
    expect(workspaceSnapshotName(RUN, 'lx3k')).toBe(`kh-${RUN}-workspaces-lx3k`);
    expect(topologyResourceName(RUN, 'db')).toBe(`kh-${RUN}-db`);
  });

  it('names: characters Docker does not allow in a name become _', () => {
    expect(topologyResourceName(RUN, 'my db/1')).toBe(`kh-${RUN}-my_db_1`);
    expect(attemptName(RUN, 'täsk', 1)).toBe(`kh-${RUN}-t_sk-a1`);
  });

  it("names: a workspace volume's generation reads back from its name", () => {
    for (const task of ['t-01', 't-w2']) {
      for (const generation of [1, 2, 17]) expect(workspaceGeneration(workspaceVolumeName(RUN, task, generation), RUN, task)).toBe(generation);
    }
  });
});
