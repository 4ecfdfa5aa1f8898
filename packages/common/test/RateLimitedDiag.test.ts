import { expect } from 'chai';
import * as sinon from 'sinon';
import type { DiagLogger } from '@opentelemetry/api';
import { RateLimitedDiag } from '../src';

describe('RateLimitedDiag', () => {
  let clock: sinon.SinonFakeTimers;
  let logger: { [K in keyof DiagLogger]: sinon.SinonStub };

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
    logger = {
      error: sinon.stub(),
      warn: sinon.stub(),
      info: sinon.stub(),
      debug: sinon.stub(),
      verbose: sinon.stub(),
    };
  });
  afterEach(() => clock.restore());

  it('reports once per interval per key and counts what it suppressed', () => {
    const diag = new RateLimitedDiag('Comp', 1000, () => logger);
    for (let i = 0; i < 5; i++) diag.warn('bad-value', `bad value ${i}`);
    diag.warn('other', 'another problem');
    expect(logger.warn.callCount).to.equal(2);
    expect(logger.warn.firstCall.args[0]).to.equal('Comp: bad value 0');
    clock.tick(1000);
    diag.warn('bad-value', 'bad value 5');
    expect(logger.warn.callCount).to.equal(3);
    expect(logger.warn.thirdCall.args[0]).to.equal(
      'Comp: bad value 5 (4 similar suppressed)'
    );
  });

  it('reports at the level asked for', () => {
    const diag = new RateLimitedDiag('Comp', 1000, () => logger);
    diag.error('e', 'broken');
    diag.info('i', 'fyi');
    diag.debug('d', 'detail');
    expect(logger.error.calledOnceWith('Comp: broken')).to.equal(true);
    expect(logger.info.calledOnceWith('Comp: fyi')).to.equal(true);
    expect(logger.debug.calledOnceWith('Comp: detail')).to.equal(true);
  });
});
