# Applies an ossim-agent plugin (.cfg) to a log file the way ossim-agent's ParserLog does: rules are
# the sections other than config/info/translation, tried in the order of their names, each regexp
# searched with re.IGNORECASE | re.UNICODE; the first that matches makes the event, whose fields
# resolve {$group} and {translate($group)} (a [translation] lookup, _DEFAULT_ otherwise).
# Usage: python3 ossim-plugin.py PLUGIN.cfg LOGFILE  -> a JSON list, one entry per line (null: no rule).
import configparser
import json
import re
import sys

cfg = configparser.RawConfigParser(strict=False, interpolation=None, delimiters=('=',))
with open(sys.argv[1], encoding='utf-8') as f:
    cfg.read_file(f)

NOT_RULES = ('config', 'info', 'translation')
rules = []
for name in sorted(s for s in cfg.sections() if s.lower() not in NOT_RULES):
    items = dict(cfg.items(name, raw=True))
    regexp = items['regexp'].strip('"').strip("'")
    # ossim-agent splits a regexp on the two characters \n into a multi-line rule: ours are one line.
    assert '\\n' not in regexp, 'regexp of %s holds \\n, which ossim-agent reads as a line break' % name
    rules.append((name, re.compile(regexp, re.IGNORECASE | re.UNICODE), items))


def translate(value):
    if cfg.has_option('translation', value):
        return cfg.get('translation', value)
    return cfg.get('translation', '_DEFAULT_')


out = []
with open(sys.argv[2], encoding='utf-8') as f:
    for line in f:
        line = line.rstrip('\n')
        hit = None
        for name, rx, items in rules:
            m = rx.search(line)
            if m is None:
                continue
            groups = {k: (v if v is not None else '') for k, v in m.groupdict().items()}

            def field(mm):
                fn, var = mm.group(1), mm.group(2)
                return translate(groups.get(var, '')) if fn == 'translate' else groups.get(var, '')
            event = {k: re.sub(r'\{(?:(\w+)\()?\$(\w+)\)?\}', field, v) for k, v in items.items() if k not in ('regexp', 'precheck')}
            hit = {'rule': name, 'groups': groups, 'event': event}
            break
        out.append(hit)

json.dump(out, sys.stdout, ensure_ascii=False)
