import { describe, expect, it } from '@jest/globals';
import { hostDirectoryProblem } from '../../operator/controller/host-path.js';

describe('hostDirectoryProblem', () => {
  it.each(['/var/lib/thinpool', '/srv/loop-files', '/mnt/data_1/pool.d', '/srv/a:b@c+d'])(
    'accepts %s',
    (path) => {
      expect(hostDirectoryProblem(path)).toBeUndefined();
    },
  );

  it.each([
    ['var/lib/x', 'must be an absolute path'],
    ['/', 'must not be the root directory'],
    ['/var/lib/../etc', 'must not contain "." or ".." segments'],
    ['/var/./lib', 'must not contain "." or ".." segments'],
    ['/var//lib', 'must be normalised'],
    ['/var/lib/', 'must be normalised'],
    ['/var/lib/$(reboot)', 'may only contain'],
    ['/var/lib/a b', 'may only contain'],
    ['/var/lib/x;rm', 'may only contain'],
    ['/proc/self', 'must not be under /proc'],
    ['/sys', 'must not be under /sys'],
    ['/dev/loops', 'must not be under /dev'],
    ['/host/var', 'must not overlap /host'],
    ['/etc/lvm/archive', 'must not overlap /etc/lvm'],
    ['/run', 'must not overlap /run/udev'],
    ['/etc', 'must not overlap /etc/lvm'],
  ])('rejects %s', (path, problem) => {
    expect(hostDirectoryProblem(path)).toContain(problem);
  });
});
