import { expect } from 'chai';
import * as sinon from 'sinon';
import { SlicedTask, slicedTasksRunning, yieldToEventLoop } from '../src';

/** The real clock, whatever fake timers a test installs later. */
const realNow = performance.now.bind(performance);

/**
 * The process's CPU time: the gaps between the host's turns are measured
 * in it, so a loaded machine that takes the CPU away does not count.
 */
function cpuMillis(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A generator of `steps` steps, each busy for `micros` µs of real time. */
function* busyWork(steps: number, micros: number, log: string[] = []) {
  for (let i = 0; i < steps; i++) {
    const until = realNow() + micros / 1000;
    while (realNow() < until);
    log.push('step');
    yield;
  }
  return steps;
}

describe('SlicedTask', () => {
  it('yields to the event loop between slices of about its budget', async () => {
    const log: string[] = [];
    let turns = 0;
    let longestMillis = 0;
    let last = cpuMillis();
    const ticker = setInterval(() => {
      const now = cpuMillis();
      longestMillis = Math.max(longestMillis, now - last);
      last = now;
      turns++;
      log.push('host');
    }, 0);
    try {
      // 100 ms of work in steps of 0.5 ms, slices of 4 ms.
      const result = await new SlicedTask(busyWork(200, 500, log), 4).run();
      expect(result).to.equal(200);
    } finally {
      clearInterval(ticker);
    }
    // The host ran between slices, never waiting for the whole 100 ms.
    expect(turns).to.be.at.least(10);
    expect(longestMillis).to.be.below(60);
    expect(log.indexOf('host')).to.be.below(log.lastIndexOf('step'));
  });

  it('gives the loop a turn in a chain of tasks each shorter than a slice', async () => {
    let turns = 0;
    let longestMillis = 0;
    let last = cpuMillis();
    const ticker = setInterval(() => {
      const now = cpuMillis();
      longestMillis = Math.max(longestMillis, now - last);
      last = now;
      turns++;
    }, 0);
    try {
      // 100 tasks of 1 ms each (more steps than a task runs where it
      // starts), awaited one after the other: 100 ms in all.
      for (let i = 0; i < 100; i++)
        await new SlicedTask(busyWork(20, 50), 4).run();
    } finally {
      clearInterval(ticker);
    }
    expect(turns).to.be.at.least(10);
    expect(longestMillis).to.be.below(60);
  });

  it('finishes synchronously what is left, and run() then resolves with the result', async () => {
    const task = new SlicedTask(busyWork(50, 200), 1);
    const running = task.run();
    await yieldToEventLoop();
    expect(task.done).to.equal(false);
    expect(task.finish()).to.equal(50);
    expect(task.done).to.equal(true);
    expect(await running).to.equal(50);
  });

  it('counts the tasks running until each returns or throws', async () => {
    // More steps than a task runs where it starts, each 0.5 ms: both yield.
    function* failing() {
      yield* busyWork(20, 500);
      throw new Error('bad step');
    }
    const done = new SlicedTask(busyWork(20, 500), 1).run();
    expect(slicedTasksRunning()).to.equal(1);
    await done;
    expect(slicedTasksRunning()).to.equal(0);
    const failed = new SlicedTask(failing(), 1).run();
    expect(slicedTasksRunning()).to.equal(1);
    await failed.catch(() => undefined);
    expect(slicedTasksRunning()).to.equal(0);
  });

  it('passes an error of the work to every caller', async () => {
    function* failing(): Generator<void, number> {
      yield;
      throw new Error('broken step');
    }
    const task = new SlicedTask(failing());
    const running = task.run();
    expect(() => task.finish()).to.throw('broken step');
    let caught: unknown;
    await running.catch(error => (caught = error));
    expect(String(caught)).to.match(/broken step/);
  });

  it('keeps yielding on the real loop when fake timers are installed after it loaded', async () => {
    const clock = sinon.useFakeTimers();
    try {
      // setImmediate and performance are fake now; the work must still end.
      expect(await new SlicedTask(busyWork(20, 2000), 1).run()).to.equal(20);
    } finally {
      clock.restore();
    }
  });
});
