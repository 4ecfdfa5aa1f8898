import { expect } from 'chai';
import * as sinon from 'sinon';
import type { DiagLogger } from '@opentelemetry/api';
import { EventEmitter, RateLimitedDiag } from '../src';

describe('EventEmitter', () => {
  const logger = () => ({
    error: sinon.stub(),
    warn: sinon.stub(),
    info: sinon.stub(),
    debug: sinon.stub(),
    verbose: sinon.stub(),
  });

  it('delivers to every listener until it is disposed', () => {
    const emitter = new EventEmitter<number>(
      'onThing',
      new RateLimitedDiag('Test')
    );
    const seen: number[] = [];
    const first = emitter.event(v => seen.push(v));
    emitter.event(v => seen.push(v * 10));
    emitter.emit(1);
    first.dispose();
    first.dispose();
    emitter.emit(2);
    expect(seen).to.deep.equal([1, 10, 20]);
    expect(emitter.size).to.equal(1);
  });

  it('keeps the same function subscribed twice as two listeners', () => {
    const emitter = new EventEmitter<number>(
      'onThing',
      new RateLimitedDiag('Test')
    );
    const listener = sinon.spy();
    const a = emitter.event(listener);
    emitter.event(listener);
    a.dispose();
    emitter.emit(1);
    expect(listener.callCount).to.equal(1);
  });

  it('reports a throwing listener and still calls the rest', () => {
    const log = logger();
    const emitter = new EventEmitter<string>(
      'onAnomaly',
      new RateLimitedDiag('Test', 60_000, () => log as unknown as DiagLogger)
    );
    const after = sinon.spy();
    emitter.event(() => {
      throw new Error('listener bug');
    });
    emitter.event(after);
    expect(() => emitter.emit('x')).not.to.throw();
    expect(after.calledOnceWith('x')).to.equal(true);
    expect(log.error.firstCall.args[0]).to.equal(
      'Test: a onAnomaly listener threw: Error: listener bug'
    );
  });

  it('refuses a listener that is not a function', () => {
    const emitter = new EventEmitter<string>(
      'onAnomaly',
      new RateLimitedDiag('Test')
    );
    expect(() => emitter.event(5 as never)).to.throw(
      TypeError,
      /onAnomaly: a listener must be a function/
    );
  });
});
