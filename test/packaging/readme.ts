/**
 * What the packaging test reads from a README: the install commands of its
 * "Install" section and the two quick starts of its "Quick start" section,
 * exactly as a reader would copy them.
 */

/** The text under `## <heading>`, up to the next heading of that level or higher. */
export function sectionOf(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex(line => line.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The fenced code blocks of `markdown`: info string and body. */
export function fencedBlocks(
  markdown: string
): { info: string; body: string }[] {
  return [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map(m => ({
    info: m[1].trim(),
    body: m[2],
  }));
}

export interface InstallCommands {
  npm: string;
  pnpm: string;
}

/**
 * The `npm …` and `pnpm …` lines of each ```sh block under "## Install":
 * first the package's own install, then any extras (for optional parts).
 */
export function installCommands(markdown: string): InstallCommands[] {
  const blocks = fencedBlocks(sectionOf(markdown, 'Install')).filter(
    b => b.info === 'sh'
  );
  if (blocks.length === 0) throw new Error('no ```sh block under "## Install"');
  return blocks.map(block => {
    const lines = block.body.split('\n').filter(line => line.trim() !== '');
    const one = (tool: string): string => {
      const found = lines.filter(line => line.startsWith(`${tool} `));
      if (found.length !== 1 || lines.length !== 2)
        throw new Error(
          `each \`\`\`sh block of "## Install" needs one npm and one pnpm line, not ${JSON.stringify(lines)}`
        );
      return found[0];
    };
    return { npm: one('npm'), pnpm: one('pnpm') };
  });
}

export interface QuickStart {
  /** The ES module, named `quickstart.mjs` on its first line; also checked as strict TypeScript. */
  esm: string;
  /** The CommonJS module, named `quickstart.cjs` on its first line. */
  commonjs: string;
}

/** The ```js blocks under "## Quick start" whose first line names them `quickstart.mjs` and `quickstart.cjs`. */
export function quickStart(markdown: string): QuickStart {
  const blocks = fencedBlocks(sectionOf(markdown, 'Quick start')).filter(
    b => b.info === 'js'
  );
  const named = (file: string): string => {
    const found = blocks.filter(b => b.body.startsWith(`// ${file}\n`));
    if (found.length !== 1)
      throw new Error(
        `"## Quick start" needs one \`\`\`js block starting "// ${file}", has ${found.length}`
      );
    return found[0].body;
  };
  return {
    esm: named('quickstart.mjs'),
    commonjs: named('quickstart.cjs'),
  };
}

/**
 * The targets of the links and images of `markdown` that are relative
 * paths (no scheme, not an anchor), without their #fragment: inline
 * `[text](target)`, reference definitions `[label]: target`, and HTML
 * `src`/`href` attributes. Code blocks and spans are left out.
 */
export function relativeLinks(markdown: string): string[] {
  const prose = markdown
    .replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '')
    .replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
      m => m[1]
    ),
    ...[...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map(
      m => m[1]
    ),
    ...[...prose.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/g)].map(
      m => m[1]
    ),
  ];
  return targets
    .filter(target => !/^[a-z][a-z0-9+.-]*:/i.test(target))
    .filter(target => !target.startsWith('#'))
    .map(target => target.replace(/#.*$/, ''));
}
