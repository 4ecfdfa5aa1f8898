import { familyRows } from './families';
for (const row of familyRows(JSON.parse(process.argv[2] ?? '{}')))
  console.log(
    row.stream.padEnd(60),
    row.falsePerHour.toFixed(2),
    row.double.join('/'),
    row.half.join('/')
  );
