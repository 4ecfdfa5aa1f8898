export { PrometheusScrapeServer } from '../PrometheusScrapeServer';
