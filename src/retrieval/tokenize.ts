/**
 * Tokenisation for API retrieval. API documents are full of identifiers (`getUserById`,
 * `search_by_zip`, `get-weather`, `v2Search`, `ZIPCode`), so words are split at camelCase,
 * snake_case, kebab-case and letter/digit boundaries before lower-casing. A light suffix stemmer
 * lets "videos" match "video" and "searching" match "search".
 */

/** English function words and request boilerplate that carry no information about which API is meant. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if then else of to in on at by for with from into onto over under about as is are was ' +
    'were be been being am do does did doing have has had having it its this that these those there here ' +
    'i me my mine we us our ours you your yours he him his she her hers they them their theirs what which who ' +
    'whom whose when where why how all any both each few more most other some such no nor not only own same ' +
    'so than too very can could will would shall should may might must just also s t d ll m re ve o y ' +
    'up down out off again further once via per etc'
  ).split(' '),
);

/**
 * Words that ToolBench-style user requests use to ask for things, not to describe them
 * ("Can you please provide me with ..."). Dropped from queries only, never from documents.
 */
export const QUERY_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'please help provide give tell show let know want need like would could can also additionally ' +
    'interested curious planning plan looking fetch get find retrieve share suggest recommend im ' +
    'me my friend friends family some details information info list'
  ).split(' '),
);

/** Splits one raw word at camelCase, acronym and digit boundaries: "getHTTPResponse2xx" → get HTTP Response 2 xx. */
function splitIdentifier(word: string): string[] {
  return word
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d)/g, '$1 $2')
    .replace(/(\d)([A-Za-z])/g, '$1 $2')
    .split(' ')
    .filter((part) => part !== '');
}

/**
 * A small suffix stemmer (plural, -ing, -ed, -ly, -ies): enough to conflate the inflections that
 * matter for API names without Porter's over-stemming of short identifiers.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (/(xes|ches|shes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) {
    w = w.slice(0, -3);
    if (/([^aeiouslz])\1$/.test(w)) w = w.slice(0, -1);
  } else if (w.length > 4 && w.endsWith('ed') && !w.endsWith('eed')) {
    w = w.slice(0, -2);
    if (/([^aeiouslz])\1$/.test(w)) w = w.slice(0, -1);
  } else if (w.length > 5 && w.endsWith('ly')) {
    w = w.slice(0, -2);
  }
  return w;
}

export interface TokenizeOptions {
  /** Drop STOPWORDS (default true). */
  stopwords?: boolean;
  /** Extra words to drop (already lower-case, compared before stemming). */
  extraStopwords?: ReadonlySet<string>;
  /** Apply `stem` (default true). */
  stem?: boolean;
}

/**
 * Lower-case terms of `text`: split on anything that is not a letter or digit, then at identifier
 * boundaries; stopwords removed and stemmed unless turned off.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  const { stopwords = true, extraStopwords, stem: doStem = true } = options;
  const out: string[] = [];
  for (const raw of text.split(/[^\p{L}\p{N}]+/u)) {
    if (raw === '') continue;
    for (const part of splitIdentifier(raw)) {
      const lower = part.toLowerCase();
      if (stopwords && STOPWORDS.has(lower)) continue;
      if (extraStopwords?.has(lower)) continue;
      out.push(doStem ? stem(lower) : lower);
    }
  }
  return out;
}

/** Adjacent-pair terms ("zip_code") of a token list, for phrase-like matching. */
export function bigrams(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) out.push(`${tokens[i]}_${tokens[i + 1]}`);
  return out;
}
