import { describe, expect, it } from '@jest/globals';
import { LocalHost } from '../../node-agent/host/local-host.js';
import { LvmShellSession, parseLvmShellOutput } from '../../node-agent/lvm/shell.js';
import { sessionTests } from '../support/session-suite.js';
import { fixture } from './support/fixtures.js';

describe('command sessions on the local host (real processes through execa)', () => {
  const host = new LocalHost();
  sessionTests(() => host);
});

describe('LvmShellSession', () => {
  it('is answered when every command of the call printed its JSON object', () => {
    const session = new LvmShellSession();
    session.expected = 2;
    expect(session.answered('lvm> {"log": [{"a": "}"}]}')).toBe(false);
    expect(session.answered('{"log": []}\n{"report": [], "log": [')).toBe(false);
    expect(session.answered('{"log": []}\n{"report": [], "log": []}\n')).toBe(true);
  });

  it('answers every LVM question "no" and nothing else', () => {
    const session = new LvmShellSession();
    expect(
      session.reply('WARNING: ext4 signature detected on /dev/vdc at offset 1080. Wipe it? [y/n]: '),
    ).toBe('n\n');
    expect(session.reply('  WARNING: Not using device /dev/vdc.\n')).toBeUndefined();
    expect(session.closed.aborted).toBe(false);
    session.close();
    expect(session.closed.aborted).toBe(true);
  });

  it('takes the messages of a lastlog sent on its own (recorded from lvm 2.03.16)', () => {
    const [, lastlog] = parseLvmShellOutput(fixture('shell-vgcreate-fails.txt'), [
      ['vgcreate', 'docker', '/dev/nonexistent'],
      ['lvm', 'lastlog'],
    ]);
    const alone = parseLvmShellOutput(lastlog!.stdout, [['lvm', 'lastlog']]);
    expect(alone).toHaveLength(1);
    expect(alone[0]!.messages).toContain('No device found for /dev/nonexistent.');
  });
});
